using System.CommandLine;
using Switchyard.Client;
using Switchyard.Platform;

namespace Switchyard.Cli.Commands;

/// <summary><c>yard connect NET NAME -- CMD ARGS...</c>: attaches an endpoint through the fd
/// handoff and runs CMD with the socket as fd 3, like socket_vmnet_client, so
/// <c>qemu-system-x86_64 ... -netdev dgram,id=n0,local.type=fd,local.str=3</c> just works.</summary>
internal static class ConnectCommand
{
    public const int VmFd = 3;

    public static Command Build()
    {
        var network = new Argument<string>("NETWORK");
        var name = new Argument<string>("NAME") { Description = "The endpoint's name: the VM's DNS host name" };
        var command = new Argument<string[]>("COMMAND") { Description = "The program to run with the socket as fd 3, and its arguments (after --)", Arity = ArgumentArity.OneOrMore };
        var stream = new Option<bool>("--stream") { Description = "A stream socket with a 4-byte length before each frame (QEMU -netdev stream,addr.type=fd) instead of datagrams" };
        var mac = new Option<string?>("--mac") { Description = "The VM's MAC (default: learnt from its first frame)" };
        var ip = new Option<string?>("--ip") { Description = "Pin the VM's IPv4 address" };
        var cmd = new Command("connect", "Attach a VM process through a socket handed to it as fd 3, then run it") { network, name, command, stream, mac, ip };
        cmd.SetAction(async (parse, ct) =>
        {
            if (OperatingSystem.IsWindows()) return Output.Error("connect needs a POSIX system");
            using var client = new SwitchyardClient(parse.GetValue(YardCommand.Socket));
            FdAttachment attachment;
            try
            {
                attachment = await client.AttachFdAsync(parse.GetValue(network)!, parse.GetValue(name)!, parse.GetValue(stream), parse.GetValue(mac), parse.GetValue(ip), ct);
            }
            catch (SwitchyardApiException e) { return Output.Error(e.Message); }
            catch (SwitchyardUnavailableException e) { return Output.Error(e.Message); }
            var argv = parse.GetValue(command)!;
            Console.Error.WriteLine($"yard: {attachment.Endpoint.Network}/{attachment.Endpoint.Name} at {attachment.Endpoint.Ipv4}; running {argv[0]} with the socket as fd {VmFd}");
            var failure = ProcessExec.Exec(attachment.Handle, VmFd, argv[0], argv[1..]);
            // Still here: the program did not start, so the endpoint made for it goes again.
            try { await client.DetachEndpointAsync(attachment.Endpoint.Network, attachment.Endpoint.Name, CancellationToken.None); }
            catch (SwitchyardApiException) { }
            return Output.Error($"cannot run {argv[0]}: {failure.Message}");
        });
        return cmd;
    }
}
