using Switchyard.Cli.Commands;
using Switchyard.Daemon.Docker;

namespace Switchyard.Cli.Tests;

/// <summary><c>yard daemon --docker-plugin [--docker-plugin-socket PATH] [--docker-host unix:///PATH]</c>.</summary>
public sealed class DockerPluginOptionsTests
{
    [Fact]
    public void Off_unless_asked() => Assert.Null(DaemonCommand.DockerPlugin(false, null, null));

    [Fact]
    public void The_default_socket_is_where_dockerd_looks_and_names_the_driver_switchyard()
    {
        var options = DaemonCommand.DockerPlugin(true, null, null)!;
        Assert.Equal("/run/docker/plugins/switchyard.sock", options.SocketPath);
        Assert.Equal("switchyard", options.DriverName);
        Assert.Equal("unix:///var/run/docker.sock", options.DockerHost);
    }

    [Fact]
    public void A_socket_path_implies_the_plugin_and_names_the_driver()
    {
        var options = DaemonCommand.DockerPlugin(false, "/run/docker/plugins/lab.sock", "unix:///tmp/d.sock")!;
        Assert.Equal("lab", options.DriverName);
        Assert.Equal("/tmp/d.sock", options.DockerSocketPath);
    }

    [Fact]
    public void Only_unix_docker_hosts_are_taken()
    {
        Assert.Equal("/var/run/docker.sock", DockerPluginOptions.SocketPathOf("/var/run/docker.sock"));
        Assert.Throws<ArgumentException>(() => DockerPluginOptions.SocketPathOf("tcp://127.0.0.1:2375"));
    }
}
