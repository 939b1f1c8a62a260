using System.Net.Sockets;

namespace Switchyard.Testing;

/// <summary>Unix socket files in the states the daemon must tell apart before it binds a path.</summary>
public static class UnixSockets
{
    /// <summary>Leaves a socket file at <paramref name="path"/> that no socket is bound to, as a
    /// process killed with SIGKILL leaves it. .NET unlinks the path of a bound socket when it is
    /// disposed, so the socket is bound under another name, the file renamed (the inode keeps no
    /// socket once ours is closed), and the socket closed.</summary>
    public static void CreateStale(string path)
    {
        var scratch = path + ".binding";
        using (var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            s.Bind(new UnixDomainSocketEndPoint(scratch));
            File.Move(scratch, path);
        }
        if (!File.Exists(path)) throw new InvalidOperationException($"the stale socket file {path} was not left behind");
    }

    /// <summary>A socket of <paramref name="type"/> bound at <paramref name="path"/> (a stream one listening when <paramref name="listen"/>).</summary>
    public static Socket Bind(string path, SocketType type, bool listen = false)
    {
        var s = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified);
        try
        {
            s.Bind(new UnixDomainSocketEndPoint(path));
            if (listen) s.Listen(1);
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }
}
