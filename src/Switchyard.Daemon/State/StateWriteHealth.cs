using Microsoft.Data.Sqlite;

namespace Switchyard.Daemon.State;

/// <summary>Why the state directory refuses writes.</summary>
public enum StateFault
{
    /// <summary>No space left (SQLITE_FULL, ENOSPC or a quota).</summary>
    Full,
    /// <summary>The filesystem or the file is read-only (SQLITE_READONLY, EROFS).</summary>
    ReadOnly,
    /// <summary>Another I/O error (SQLITE_IOERR, SQLITE_CANTOPEN): a failing disk or a vanished directory.</summary>
    Failing,
}

/// <summary>A write to state.db the disk refused. Nothing of the change was stored (SQLite rolled
/// the transaction back); what the daemon holds in memory goes on working.</summary>
public sealed class StateUnwritableException(StateFault fault, string message, Exception inner) : Exception(message, inner)
{
    public StateFault Fault { get; } = fault;

    /// <summary>The fault behind <paramref name="e"/>, or null for an error of the change itself
    /// (a constraint, a bug) that retrying would not cure.</summary>
    public static StateFault? Classify(SqliteException e) => (e.SqliteErrorCode & 0xFF) switch
    {
        13 => StateFault.Full,          // SQLITE_FULL
        8 => StateFault.ReadOnly,       // SQLITE_READONLY
        10 or 14 => StateFault.Failing, // SQLITE_IOERR, SQLITE_CANTOPEN
        _ => null,
    };

    public static StateUnwritableException From(StateFault fault, string path, SqliteException e)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? path;
        string what = fault switch
        {
            StateFault.Full => $"the state directory {dir} is full",
            StateFault.ReadOnly => $"the state directory {dir} is read-only",
            _ => $"the state directory {dir} cannot be written",
        };
        return new(fault, $"{what} (SQLite error {e.SqliteErrorCode}: {e.Message.TrimEnd('.')}); nothing was changed, and the networks go on working from memory", e);
    }
}

/// <summary>Whether state.db takes writes: a fault is reported once when writes start failing and
/// once when they work again (not per write, let alone per frame), so a full disk is one line in
/// the log however busy the guests are.</summary>
public sealed class StateWriteHealth
{
    private readonly Lock _lock = new();
    private StateFault? _fault;
    private long _failed;

    /// <summary>Why writes fail now; null while they work.</summary>
    public StateFault? Fault { get { lock (_lock) return _fault; } }

    /// <summary>Writes refused since the daemon started.</summary>
    public long FailedWrites => Interlocked.Read(ref _failed);

    /// <summary>Raised on each change: the new fault (null: writes work again) and the message of
    /// the write that failed (null on recovery). Runs on the writing thread, so it must be quick.</summary>
    public event Action<StateFault?, string?>? Changed;

    public void Failed(StateUnwritableException e)
    {
        Interlocked.Increment(ref _failed);
        bool changed;
        lock (_lock)
        {
            changed = _fault != e.Fault;
            _fault = e.Fault;
        }
        if (changed) Changed?.Invoke(e.Fault, e.Message);
    }

    public void Succeeded()
    {
        lock (_lock)
        {
            if (_fault is null) return;
            _fault = null;
        }
        Changed?.Invoke(null, null);
    }
}
