using System.Net;

namespace Switchyard.Client;

/// <summary>The daemon refused a request; <see cref="Exception.Message"/> is its problem detail.</summary>
public sealed class SwitchyardApiException(HttpStatusCode status, ProblemInfo? problem, string fallback)
    : Exception(problem?.Detail ?? problem?.Title ?? fallback)
{
    public HttpStatusCode StatusCode { get; } = status;
    public ProblemInfo? Problem { get; } = problem;
}

/// <summary>No daemon answers on the socket.</summary>
public sealed class SwitchyardUnavailableException(string socketPath, Exception inner)
    : Exception($"cannot reach the Switchyard daemon at {socketPath} ({inner.Message}); start it with 'yard daemon' or set {SocketPaths.EnvironmentVariable}", inner)
{
    public string SocketPath { get; } = socketPath;
}
