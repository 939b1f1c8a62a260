using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Docker;

/// <summary>A [Fact] that needs root on Linux and Docker Engine 20.10 (dockerd and its client, docker.io in
/// test.sh). Skipped, with the reason, only where those are missing and never under CI=true, where it fails.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class DockerFactAttribute : FactAttribute
{
    public DockerFactAttribute()
    {
        if (MissingRequirement() is { } reason && !LinuxRootFactAttribute.IsCi) Skip = $"Requires {reason} (set CI=true to force running).";
    }

    private static string? MissingRequirement()
    {
        if (!OperatingSystem.IsLinux()) return "Linux";
        if (!Environment.IsPrivilegedProcess) return "root";
        if (!File.Exists("/dev/net/tun")) return "/dev/net/tun";
        if (DockerdFixture.Dockerd is null) return "dockerd (apt-get install docker.io)";
        if (!File.Exists(DockerdFixture.Client)) return $"the docker client at {DockerdFixture.Client} (docker.io)";
        return null;
    }
}
