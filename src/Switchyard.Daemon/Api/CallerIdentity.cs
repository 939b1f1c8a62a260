using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Switchyard.Daemon.Control;
using Switchyard.Platform;

namespace Switchyard.Daemon.Api;

/// <summary>Who is at the other end of an API connection, read once when it is accepted (the fd
/// handoff's middleware, which sees every unix socket connection first) and kept as a connection
/// feature for every request on it.</summary>
internal sealed class CallerFeature(Caller? caller, string? error)
{
    /// <summary>Null when the credentials could not be read (<see cref="Error"/> says why).</summary>
    public Caller? Caller { get; } = caller;
    public string? Error { get; } = error;
}

internal static class CallerIdentity
{
    /// <summary>The kernel's record of the peer of <paramref name="socket"/> (SO_PEERCRED on Linux,
    /// getpeereid on macOS), never anything the request says.</summary>
    public static CallerFeature Read(Socket socket)
    {
        try
        {
            PeerCredentials c;
            if (OperatingSystem.IsLinux()) c = PeerCredentials.Read(socket);
            else if (OperatingSystem.IsMacOS()) c = PeerCredentials.ReadBsd(socket);
            else return new CallerFeature(null, "peer credentials need Linux or macOS");
            return new CallerFeature(new Caller(c.Uid, c.Gid, c.Groups, c.Pid), null);
        }
        catch (Exception e) when (e is SocketException or PlatformException or ObjectDisposedException)
        {
            return new CallerFeature(null, e.Message);
        }
    }

    /// <summary>The caller of a request that changes something. A connection whose credentials could
    /// not be read may change nothing: the rule cannot be applied to no one.</summary>
    public static Caller Of(HttpContext context)
    {
        var feature = context.Features.Get<CallerFeature>();
        return feature?.Caller ?? throw ControlException.Forbidden(
            $"the caller's credentials could not be read ({feature?.Error ?? "not a unix socket connection"}), so no change is allowed");
    }
}
