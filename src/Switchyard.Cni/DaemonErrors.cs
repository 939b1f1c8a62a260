using System.Net;
using Switchyard.Client;

namespace Switchyard.Cni;

/// <summary>The daemon's answers as CNI errors: the daemon not running is "try again later" (11,
/// a transient condition in spec 1.0's words), a bad request is a bad configuration (7), anything
/// else the daemon refuses is this plugin's 100 with the daemon's problem detail.</summary>
internal static class DaemonErrors
{
    public static CniException From(Exception e, string doing) => e switch
    {
        CniException c => c,
        SwitchyardUnavailableException u => new CniException(CniErrors.TryAgainLater, "the Switchyard daemon is not running", u.Message),
        SwitchyardApiException { StatusCode: HttpStatusCode.BadRequest } a => new CniException(CniErrors.InvalidConfig, $"{doing}: {a.Message}", a.Problem?.Detail),
        SwitchyardApiException a => new CniException(CniErrors.DaemonRefused, $"{doing}: {a.Message}", $"HTTP {(int)a.StatusCode}"),
        HttpRequestException or TaskCanceledException or IOException => new CniException(CniErrors.IoFailure, $"{doing}: {e.Message}"),
        System.Text.Json.JsonException => new CniException(CniErrors.IoFailure, $"{doing}: the daemon's answer did not parse", e.Message),
        _ => new CniException(CniErrors.IoFailure, $"{doing}: {e.Message}", e.GetType().Name),
    };

    public static bool IsNotFound(Exception e) => e is SwitchyardApiException { StatusCode: HttpStatusCode.NotFound };
}
