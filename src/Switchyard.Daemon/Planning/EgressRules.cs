using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Network;
using Switchyard.Network.Egress;

namespace Switchyard.Daemon.Planning;

/// <summary>Egress policies from requests: parsed whole (a bad rule is refused naming it) and
/// edited. Only a nat network has an outside to guard.</summary>
public static class EgressRules
{
    /// <summary>A policy from the API (null for none).</summary>
    public static EgressPolicy? Parse(EgressPolicySpec? spec, NetworkMode mode)
    {
        if (spec is null) return null;
        if (mode != NetworkMode.Nat)
            throw ControlException.Invalid($"egress policies apply to nat networks; a {ModeSpec.Name(mode)} network never reaches the outside");
        try { return RuleSpecs.CreatePolicy(spec.Default ?? "", spec.Allow, spec.Deny); }
        catch (FormatException e) { throw ControlException.Invalid(e.Message); }
    }

    /// <summary>A network's policy after an edit (null: none).</summary>
    public static EgressPolicy? Edit(EgressPolicy? current, EgressUpdate u, NetworkMode mode)
    {
        if (u.Clear)
        {
            if (u.Default is not null || u.AddAllow is not null || u.RemoveAllow is not null || u.AddDeny is not null || u.RemoveDeny is not null)
                throw ControlException.Invalid("clear removes the egress policy: give no rules or default with it");
            return null;
        }
        // A first policy defaults to an allowlist when it gets allow rules, a denylist otherwise.
        var start = current ?? Parse(new EgressPolicySpec { Default = u.Default ?? (u.AddAllow is { Count: > 0 } ? "deny" : "allow") }, mode)!;
        try { return RuleSpecs.EditPolicy(start, u.Default, u.AddAllow, u.RemoveAllow, u.AddDeny, u.RemoveDeny); }
        catch (FormatException e) { throw ControlException.Invalid(e.Message); }
    }
}
