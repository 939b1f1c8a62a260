using System.CommandLine;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

/// <summary><c>network create</c>'s VXLAN options (docs/multi-host.md): --vxlan VNI, --vxlan-local
/// ADDR[:PORT], --vxlan-peer ADDR[:PORT]... The addresses are checked by the daemon (the planner),
/// which owns their defaults; here only what makes a usage error.</summary>
internal sealed class VxlanOptions
{
    private readonly Option<int?> _vni = new("--vxlan")
    {
        Description = "Span the network across hosts: a VXLAN uplink (RFC 7348) with this VNI, 0-16777215, the same on every host",
        HelpName = "VNI",
    };

    private readonly Option<string?> _local = new("--vxlan-local")
    {
        Description = "The UDP address the tunnel listens on, ADDR[:PORT] or [V6ADDR][:PORT] (port default 4789; 8472 for the Linux kernel's old default). "
            + "Default loopback: the tunnel never listens on another address unless given here (VXLAN has no authentication: use a private underlay or WireGuard); 0.0.0.0 listens on all",
        HelpName = "ADDR[:PORT]",
    };

    private readonly Option<string[]> _peers = new("--vxlan-peer")
    {
        Description = "A remote VTEP, ADDR[:PORT] (port default 4789), repeatable: broadcast and unknown unicast are replicated to each, known MACs go to the peer they were learnt behind",
        HelpName = "ADDR[:PORT]",
    };

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(_vni);
        cmd.Options.Add(_local);
        cmd.Options.Add(_peers);
        _vni.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 0 or > (1 << 24) - 1) r.AddError("--vxlan: the VNI is 24 bits, 0-16777215");
        });
        cmd.Validators.Add(r =>
        {
            bool addresses = r.GetValue(_local) is not null || r.GetValue(_peers) is { Length: > 0 };
            if (addresses && r.GetValue(_vni) is null) r.AddError("--vxlan-local and --vxlan-peer need --vxlan VNI");
        });
    }

    /// <summary>The request's tunnel, or null without --vxlan.</summary>
    public VxlanSpec? Read(ParseResult parse) => parse.GetValue(_vni) is not { } vni ? null : new VxlanSpec
    {
        Vni = vni,
        Local = parse.GetValue(_local),
        Peers = parse.GetValue(_peers) is { Length: > 0 } peers ? peers : null,
    };

    /// <summary>The tunnel in a few words, after create and update.</summary>
    public static string Note(VxlanInfo v) =>
        $"VXLAN VNI {v.Vni} on {v.Local}" + (v.Peers.Count == 0 ? " (no peers yet)" : $" to {string.Join(" ", v.Peers)}");
}
