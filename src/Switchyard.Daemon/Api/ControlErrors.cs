using Microsoft.AspNetCore.Http;
using Switchyard.Daemon.Control;

namespace Switchyard.Daemon.Api;

/// <summary>The one place a control-plane error becomes an HTTP status (the problem+json of the
/// API and the fd handoff's reply both use it).</summary>
internal static class ControlErrors
{
    public static int Status(ControlError kind) => kind switch
    {
        ControlError.Invalid => StatusCodes.Status400BadRequest,
        ControlError.NotFound => StatusCodes.Status404NotFound,
        ControlError.Conflict => StatusCodes.Status409Conflict,
        ControlError.Busy => StatusCodes.Status503ServiceUnavailable,
        ControlError.Forbidden => StatusCodes.Status403Forbidden,
        ControlError.StorageFull => StatusCodes.Status507InsufficientStorage,
        _ => StatusCodes.Status500InternalServerError,
    };
}
