using System.Net;
using System.Net.Sockets;

namespace Switchyard.Platform;

/// <summary>What is behind a unix socket file, found by connecting to it.</summary>
public enum UnixSocketState
{
    /// <summary>No file at the path (any more).</summary>
    Absent,
    /// <summary>A socket file no socket is bound to: left behind by a process that died. Safe to replace.</summary>
    Stale,
    /// <summary>A stream socket listens on the path (most likely a server such as another daemon). Never to be unlinked.</summary>
    Listening,
    /// <summary>A live process has another socket bound to the path (datagram, seqpacket, or a
    /// stream socket not listening yet). Never to be unlinked.</summary>
    Bound,
    /// <summary>The probe could not tell (e.g. no write permission on the file): treated as live.</summary>
    Unknown,
}

/// <summary>Tells a stale unix socket file from one a live process is bound to, with connect(2),
/// which is the only portable way: a path's socket file outlives its socket, and nothing in the
/// file says whether a socket is still bound to it.
///
/// How the kernel answers (Linux net/unix/af_unix.c, unix_find_bsd; macOS alike): a file with no
/// socket bound to it refuses EVERY connect with ECONNREFUSED, before looking at the socket type;
/// a bound socket of another type than the probe's answers EPROTOTYPE; a bound stream socket that
/// does not listen refuses a stream connect with ECONNREFUSED but a dgram connect with EPROTOTYPE;
/// a bound dgram socket accepts a dgram connect (or answers EPERM when it is connected to someone
/// else). So a path is stale only when both a stream and a dgram connect are refused; any other
/// answer means a live socket or one we cannot judge, and either way the file stays.
///
/// The stream probe is non-blocking: a listener whose backlog is full answers EAGAIN (live), it
/// does not make the caller wait. A successful stream probe is one accepted-then-closed connection
/// for the listener, which every server must survive anyway.
///
/// Between the probe and the caller's unlink-and-bind there is a window in which another process
/// could bind the path; unlink then bind cannot be made atomic on a path, and bind fails with
/// EADDRINUSE if the other process wins after the unlink, so at worst the caller's bind fails.</summary>
public static class UnixSocketProbe
{
    /// <summary>Probes <paramref name="path"/>; <paramref name="detail"/> says what answered (for error messages).</summary>
    public static UnixSocketState Probe(string path, out string detail)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            detail = "no such file";
            return UnixSocketState.Absent;
        }
        var endpoint = new UnixDomainSocketEndPoint(path);
        var stream = Try(SocketType.Stream, endpoint);
        var dgram = Try(SocketType.Dgram, endpoint);
        if (stream == SocketError.ConnectionRefused && dgram == SocketError.ConnectionRefused)
        {
            detail = "no process is bound to it";
            return UnixSocketState.Stale;
        }
        if (IsGone(stream) || IsGone(dgram))
        {
            detail = "removed while probing";
            return File.Exists(path) ? UnixSocketState.Unknown : UnixSocketState.Absent;
        }
        (var state, detail) = (stream, dgram) switch
        {
            (SocketError.Success or SocketError.WouldBlock or SocketError.InProgress, _) => (UnixSocketState.Listening, "a process is listening on it (stream)"),
            (_, SocketError.Success) => (UnixSocketState.Bound, "a process is bound to it (datagram)"),
            // EPERM: a dgram socket connected to another peer refuses us, but it is there.
            (_, SocketError.AccessDenied) when stream == SocketError.ProtocolType => (UnixSocketState.Bound, "a process is bound to it (datagram, connected to another peer)"),
            (SocketError.ConnectionRefused, SocketError.ProtocolType) => (UnixSocketState.Bound, "a process has a stream socket bound to it (not listening yet)"),
            (SocketError.ProtocolType, SocketError.ProtocolType) => (UnixSocketState.Bound, "a process has a socket of another type (seqpacket) bound to it"),
            _ => (UnixSocketState.Unknown, $"cannot tell whether a process is bound to it (stream connect: {stream}, datagram connect: {dgram})"),
        };
        return state;
    }

    /// <summary>True when a socket is bound at the address (a path, as <see cref="EndPoint.Serialize"/>
    /// makes it, e.g. a datagram's source): the dgram half of <see cref="Probe"/>, one connect. False
    /// only when the kernel says nothing is bound there (ECONNREFUSED, ENOENT).</summary>
    public static bool IsBound(SocketAddress address)
    {
        var result = Try(SocketType.Dgram, AnyPath.Create(address));
        return !(result == SocketError.ConnectionRefused || IsGone(result));
    }

    private static readonly UnixDomainSocketEndPoint AnyPath = new("/");

    // ENOENT (and ENOTDIR) come back as AddressNotAvailable from .NET's errno mapping.
    private static bool IsGone(SocketError e) => e is SocketError.AddressNotAvailable;

    private static SocketError Try(SocketType type, EndPoint endpoint)
    {
        using var probe = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            probe.Connect(endpoint);
            return SocketError.Success;
        }
        catch (SocketException e) { return e.SocketErrorCode; }
    }
}
