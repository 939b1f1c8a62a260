using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SocketTests
{
    [Fact]
    public async Task Socket_is_0600_after_start_and_removed_after_stop()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(d.SocketPath));
        await d.StopAsync();
        Assert.False(File.Exists(d.SocketPath));
    }

    [Fact]
    public async Task With_a_group_the_socket_is_0660_and_owned_by_it()
    {
        var state = Directory.CreateTempSubdirectory("yard-test-");
        var socket = Path.Combine(state.FullName, "yard.sock");
        var app = DaemonHost.Build(new DaemonOptions { StateDirectory = Path.Combine(state.FullName, "s"), SocketPath = socket, SocketGroup = "0" });
        try
        {
            await app.StartAsync();
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(socket));
            var stat = Switchyard.Testing.Command.Run("stat", ["-c", "%g", socket]);
            Assert.Equal("0", stat.StdOut.Trim());
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            state.Delete(recursive: true);
        }
    }

    [Fact]
    public void An_unknown_group_is_a_clear_error() =>
        Assert.Contains("no such group", Assert.Throws<ArgumentException>(() => Switchyard.Platform.FileOwnership.SetGroup("/tmp", "no-such-group-xyz")).Message);

    [Fact]
    public async Task Second_daemon_on_the_same_socket_is_refused()
    {
        await using var first = new ApiDaemon();
        await first.StartAsync();
        var otherState = Directory.CreateTempSubdirectory("yard-test-");
        try
        {
            var e = Assert.Throws<DaemonStartException>(() => DaemonHost.Build(new DaemonOptions
            {
                StateDirectory = otherState.FullName, SocketPath = first.SocketPath, ResolvConfPath = first.ResolvConf,
            }));
            Assert.Contains("another Switchyard daemon is already listening", e.Message);
            Assert.Contains(first.SocketPath, e.Message);
            // The first daemon is untouched.
            Assert.Equal("ok", (await first.Client.GetHealthAsync()).Status);
        }
        finally { otherState.Delete(recursive: true); }
    }

    [Fact]
    public async Task Stale_socket_file_is_replaced()
    {
        // A socket file no socket is bound to, as a daemon killed with SIGKILL leaves behind.
        await using var d = new ApiDaemon();
        Switchyard.Testing.UnixSockets.CreateStale(d.SocketPath);
        await Assert.ThrowsAsync<SwitchyardUnavailableException>(() => d.Client.GetHealthAsync());

        await d.StartAsync();
        Assert.Equal("ok", (await d.Client.GetHealthAsync()).Status);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(d.SocketPath));
    }

    /// <summary>Issue 16, finding 5, for the API socket: the old check connected with a stream
    /// socket only, took "refused" for stale and unlinked the live socket of another process.</summary>
    [Theory]
    [InlineData(SocketType.Dgram, false)]
    [InlineData(SocketType.Stream, false)] // bound, not listening yet
    [InlineData(SocketType.Seqpacket, true)]
    public async Task A_live_socket_of_another_process_on_the_api_path_is_refused_and_left_alone(SocketType type, bool listen)
    {
        var state = Directory.CreateTempSubdirectory("yard-test-");
        var path = Path.Combine(state.FullName, "yard.sock");
        try
        {
            using var other = Switchyard.Testing.UnixSockets.Bind(path, type, listen);
            var e = Assert.Throws<DaemonStartException>(() => DaemonHost.Build(new DaemonOptions
            {
                StateDirectory = Path.Combine(state.FullName, "s"), SocketPath = path, ResolvConfPath = Path.Combine(state.FullName, "resolv"),
            }));
            Assert.Contains("in use", e.Message);
            Assert.Contains(path, e.Message);
            // Still the other process's socket: the same file, still bound.
            Assert.True(File.Exists(path));
            Assert.Equal(Switchyard.Platform.UnixSocketState.Bound, Switchyard.Platform.UnixSocketProbe.Probe(path, out _));
        }
        finally { state.Delete(recursive: true); }
    }

    [Fact]
    public async Task Missing_socket_directory_is_created_private()
    {
        var dir = Directory.CreateTempSubdirectory("yard-test-");
        try
        {
            var sockDir = Path.Combine(dir.FullName, "run", "switchyard");
            var options = new DaemonOptions
            {
                StateDirectory = Path.Combine(dir.FullName, "state"), SocketPath = Path.Combine(sockDir, "yard.sock"),
                ResolvConfPath = "/nonexistent/resolv.conf",
            };
            var app = DaemonHost.Build(options);
            await app.StartAsync();
            try
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(sockDir));
                using var client = new SwitchyardClient(options.SocketPath);
                var def = await client.GetNetworkAsync("default");
                Assert.Empty(def.EffectiveDnsUpstreams!); // no resolv.conf: no upstreams, still serving
            }
            finally
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public async Task Client_without_daemon_is_unavailable()
    {
        using var client = new SwitchyardClient($"/tmp/yard-test-none-{Guid.NewGuid():N}/yard.sock");
        var e = await Assert.ThrowsAsync<SwitchyardUnavailableException>(() => client.GetVersionAsync());
        Assert.StartsWith("cannot reach the Switchyard daemon", e.Message);
    }
}
