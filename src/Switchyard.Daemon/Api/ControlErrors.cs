using Microsoft.AspNetCore.Http;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;

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

    /// <summary>A change the state directory refused: 507 when it is full or read-only (RFC 4918
    /// §11.5: the server cannot store what the request needs), 503 for another I/O error, which
    /// may pass (a disk that comes back, a directory remounted).</summary>
    public static int Status(StateFault fault) => fault switch
    {
        StateFault.Full or StateFault.ReadOnly => StatusCodes.Status507InsufficientStorage,
        _ => StatusCodes.Status503ServiceUnavailable,
    };
}
