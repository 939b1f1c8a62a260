namespace Switchyard.Platform;

/// <summary>Who the daemon itself runs as.</summary>
public static class ProcessIdentity
{
    /// <summary>The effective uid (0 for root); 0 on Windows, where nothing is checked by uid.</summary>
    public static uint EffectiveUserId => OperatingSystem.IsWindows() ? 0 : Interop.Libc.GetEUid();
}
