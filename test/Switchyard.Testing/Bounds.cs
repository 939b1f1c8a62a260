namespace Switchyard.Testing;

/// <summary>The time bounds tests share, sized for a loaded 2-core machine (a CPU hog, other test
/// classes in parallel) so that load alone never fails a test. A bound on real time is for a real
/// peer or the kernel; one of our own timers is tested on a fake clock instead.</summary>
public static class Bounds
{
    /// <summary>How long to wait for a real peer (a DHCP client, a resolver, a file event, a daemon
    /// settling) when the test has no reason to pick another. Waits exit as soon as the thing holds.</summary>
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    /// <summary>What a reply no timer delays (a RST, an ICMP error, a SERVFAIL or REFUSED) may take:
    /// milliseconds on an idle machine. A test that tells such a reply from a timeout must give the
    /// probe a wait well above this (10 s), so the two cannot be confused.</summary>
    public static readonly TimeSpan AtOnce = TimeSpan.FromSeconds(3);
}
