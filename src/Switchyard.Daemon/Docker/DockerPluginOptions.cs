namespace Switchyard.Daemon.Docker;

/// <summary><c>yard daemon --docker-plugin</c>: where the driver listens and where dockerd is asked.</summary>
public sealed record DockerPluginOptions
{
    /// <summary>dockerd finds plugins by socket in /run/docker/plugins; the file name (without
    /// <c>.sock</c>) is the driver's name: <c>docker network create -d switchyard</c>.</summary>
    public const string DefaultSocketPath = "/run/docker/plugins/switchyard.sock";
    public const string DefaultDockerHost = "unix:///var/run/docker.sock";

    public string SocketPath { get; init; } = DefaultSocketPath;
    /// <summary>dockerd's API socket, asked for a network's name (CreateNetwork carries only its ID).</summary>
    public string DockerHost { get; init; } = DefaultDockerHost;
    /// <summary>How long to wait for dockerd to know a new network's ID before naming it docker-ID12.</summary>
    public TimeSpan NameWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>dockerd's socket path from <see cref="DockerHost"/>: <c>unix:///PATH</c> (Docker's own
    /// spelling, as in DOCKER_HOST) or a plain path; other schemes are refused.</summary>
    public string DockerSocketPath => SocketPathOf(DockerHost);

    public static string SocketPathOf(string dockerHost) =>
        dockerHost.StartsWith("unix://", StringComparison.Ordinal) ? dockerHost["unix://".Length..]
        : dockerHost.Contains("://", StringComparison.Ordinal) ? throw new ArgumentException($"--docker-host {dockerHost}: only unix:// sockets are supported")
        : dockerHost;

    /// <summary>The name <c>docker network create -d</c> takes: the socket's file name without <c>.sock</c>.</summary>
    public string DriverName => Path.GetFileNameWithoutExtension(SocketPath);
}
