using Switchyard.Platform;

namespace Switchyard.Daemon.Control;

/// <summary>The resolv.conf that <c>--configure</c> writes for a guest namespace
/// (/etc/netns/NS/resolv.conf, which <c>ip netns exec</c> binds over /etc/resolv.conf).</summary>
internal static class ResolvConfWriter
{
    private const string Marker = "# written by Switchyard";
    private static string Header(EndpointRecord e) => $"{Marker} for endpoint {e.Row.Name} on network {e.Row.Network}";

    public static void Write(NetworkRecord net, EndpointRecord e)
    {
        // A guest on several networks takes its resolver, like its route, from one of them.
        if (!OperatingSystem.IsLinux() || e.Transport.Netns is not { } ns || !e.Config.DefaultRoute) return;
        var cfg = net.Live.Config;
        NetworkNamespace.WriteResolvConf(ns, $"{Header(e)}\nnameserver {cfg.Gateway}\nsearch {cfg.Domain}\n");
    }

    /// <summary>Removes the resolv.conf that --configure wrote (only ours: it starts with our
    /// marker), and its directory when nothing else is in it. Also for an endpoint restored
    /// "down", which never wrote it in this daemon's life.</summary>
    public static void Remove(EndpointRecord e)
    {
        if (!OperatingSystem.IsLinux() || !e.Transport.Configure || e.Transport.Netns is not { } ns) return;
        var dir = Path.Combine(NetworkNamespace.EtcDirectory, ns);
        var file = Path.Combine(dir, "resolv.conf");
        try
        {
            if (File.Exists(file) && File.ReadAllText(file).StartsWith(Header(e), StringComparison.Ordinal)) File.Delete(file);
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }
}
