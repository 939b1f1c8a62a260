namespace Switchyard.Cni;

/// <summary>The error codes of CNI spec 1.0, "Error" (and 1.1's STATUS codes); 100 and up are this plugin's own.</summary>
internal static class CniErrors
{
    public const int IncompatibleVersion = 1;
    public const int UnsupportedField = 2;
    public const int ContainerUnknown = 3;
    public const int InvalidEnvironment = 4;
    public const int IoFailure = 5;
    public const int DecodeFailure = 6;
    public const int InvalidConfig = 7;
    public const int TryAgainLater = 11;
    /// <summary>STATUS (1.1): the plugin cannot serve ADDs now (here: the daemon does not answer).</summary>
    public const int PluginNotAvailable = 50;
    /// <summary>The daemon refused the request (its problem detail is the error's details).</summary>
    public const int DaemonRefused = 100;
    /// <summary>CHECK: the endpoint or the container's interface is not as ADD left it.</summary>
    public const int CheckFailed = 101;
}

/// <summary>A failure the plugin reports as a CNI error object on stdout, exiting non-zero.</summary>
internal sealed class CniException(int code, string msg, string? details = null) : Exception(msg)
{
    public int Code { get; } = code;
    public string? Details { get; } = details;
}
