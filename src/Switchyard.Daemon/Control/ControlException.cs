namespace Switchyard.Daemon.Control;

/// <summary>Why the control plane refused or failed a change. Only <c>Api/</c> turns a kind into an
/// HTTP status (<see cref="Api.ControlErrors"/>); the control plane never speaks HTTP.</summary>
public enum ControlError
{
    /// <summary>The request itself is wrong (a bad name, an option that does not apply): 400.</summary>
    Invalid,
    /// <summary>A network or endpoint named in the request does not exist: 404.</summary>
    NotFound,
    /// <summary>The request clashes with what exists (a name, address, MAC or host port taken): 409.</summary>
    Conflict,
    /// <summary>Another change held the gate too long (e.g. it is stuck on a hung disk): 503.</summary>
    Busy,
    /// <summary>The caller's credentials do not allow this change (SO_PEERCRED on the API socket): 403.</summary>
    Forbidden,
    /// <summary>The state directory cannot take the change (full or read-only filesystem): 507.</summary>
    StorageFull,
    /// <summary>A good request the daemon could not carry out (e.g. restoring state at startup): 500.</summary>
    Failed,
}

/// <summary>A change the control plane refuses, with the one-line reason the user sees.</summary>
public sealed class ControlException(ControlError kind, string message) : Exception(message)
{
    public ControlError Kind { get; } = kind;

    public static ControlException Invalid(string message) => new(ControlError.Invalid, message);
    public static ControlException NotFound(string message) => new(ControlError.NotFound, message);
    public static ControlException Conflict(string message) => new(ControlError.Conflict, message);
    public static ControlException Forbidden(string message) => new(ControlError.Forbidden, message);
    public static ControlException StorageFull(string message) => new(ControlError.StorageFull, message);

    /// <summary>A resource the request needs cannot be had: the request's fault while attaching or
    /// creating (<see cref="ControlError.Invalid"/>), the daemon's while restoring stored state
    /// (<see cref="ControlError.Failed"/>).</summary>
    public static ControlException Unavailable(bool restoring, string message) =>
        new(restoring ? ControlError.Failed : ControlError.Invalid, message);
}
