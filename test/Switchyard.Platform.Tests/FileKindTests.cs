using System.Net.Sockets;

namespace Switchyard.Platform.Tests;

/// <summary>lstat's st_mode read at the right offset: only a real unix socket counts.</summary>
public sealed class FileKindTests
{
    [Fact]
    public void Only_a_socket_is_a_socket()
    {
        var dir = Directory.CreateTempSubdirectory("sy-filekind-").FullName;
        try
        {
            var sock = Path.Combine(dir, "s.sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(sock));
            var empty = Path.Combine(dir, "empty");
            File.WriteAllText(empty, "");
            var full = Path.Combine(dir, "full");
            File.WriteAllText(full, "x");
            var link = Path.Combine(dir, "link");
            File.CreateSymbolicLink(link, sock);

            Assert.True(FileKind.IsSocket(sock));
            Assert.False(FileKind.IsSocket(empty));
            Assert.False(FileKind.IsSocket(full));
            Assert.False(FileKind.IsSocket(dir));
            Assert.False(FileKind.IsSocket(link)); // lstat: the link itself, not its target
            Assert.False(FileKind.IsSocket(Path.Combine(dir, "missing")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
