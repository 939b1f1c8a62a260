namespace Switchyard.Client;

/// <summary>An endpoint made by the fd handoff and this process's end of its socket pair. Pass
/// <see cref="Handle"/> (its <c>Fd</c>) to the VM process; dispose it here once the VM has it.</summary>
public sealed class FdAttachment(EndpointInfo endpoint, System.Runtime.InteropServices.SafeHandle handle) : IDisposable
{
    public EndpointInfo Endpoint { get; } = endpoint;

    /// <summary>The descriptor, owned by this attachment until <see cref="ToSocket"/> or <see cref="Dispose"/>.</summary>
    public System.Runtime.InteropServices.SafeHandle Handle { get; } = handle;

    /// <summary>The raw descriptor number, valid while <see cref="Handle"/> is open.</summary>
    public int Fd => (int)Handle.DangerousGetHandle();

    /// <summary>This end as a <see cref="System.Net.Sockets.Socket"/> (takes ownership of the descriptor).</summary>
    public System.Net.Sockets.Socket ToSocket()
    {
        var socket = new System.Net.Sockets.Socket(new System.Net.Sockets.SafeSocketHandle(Handle.DangerousGetHandle(), ownsHandle: true));
        Handle.SetHandleAsInvalid();
        return socket;
    }

    public void Dispose() => Handle.Dispose();
}
