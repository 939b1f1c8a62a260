using Microsoft.AspNetCore.Http;

namespace Switchyard.Daemon.Api;

/// <summary>A request the daemon refuses, with the HTTP status and the one-line reason the user sees.</summary>
public sealed class ApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    public static ApiException BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);
    public static ApiException NotFound(string message) => new(StatusCodes.Status404NotFound, message);
    public static ApiException Conflict(string message) => new(StatusCodes.Status409Conflict, message);
}
