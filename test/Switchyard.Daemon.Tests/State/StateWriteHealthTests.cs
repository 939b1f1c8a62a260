using Microsoft.Data.Sqlite;
using Switchyard.Daemon.Api;
using Switchyard.Daemon.State;

namespace Switchyard.Daemon.Tests.State;

/// <summary>Which SQLite errors are the disk's (retried, 507/503) and which the change's own, and
/// that a fault is reported once however many writes it refuses.</summary>
public sealed class StateWriteHealthTests
{
    [Theory]
    [InlineData(13, StateFault.Full, 507)]                 // SQLITE_FULL: ENOSPC, a quota
    [InlineData(8, StateFault.ReadOnly, 507)]              // SQLITE_READONLY
    [InlineData(8 | (1 << 8), StateFault.ReadOnly, 507)]   // SQLITE_READONLY_RECOVERY (an extended code)
    [InlineData(10, StateFault.Failing, 503)]              // SQLITE_IOERR: EROFS on write, EIO
    [InlineData(14, StateFault.Failing, 503)]              // SQLITE_CANTOPEN: the directory went away
    public void Disk_errors_are_faults_with_their_status(int code, StateFault fault, int status)
    {
        Assert.Equal(fault, StateUnwritableException.Classify(new SqliteException("x", code)));
        Assert.Equal(status, ControlErrors.Status(fault));
    }

    [Theory]
    [InlineData(19)]   // SQLITE_CONSTRAINT: the change clashes; retrying cannot cure it
    [InlineData(1)]    // SQLITE_ERROR
    [InlineData(5)]    // SQLITE_BUSY: the busy timeout's business
    public void Errors_of_the_change_itself_are_not_faults(int code) =>
        Assert.Null(StateUnwritableException.Classify(new SqliteException("x", code)));

    [Fact]
    public void The_message_names_the_directory_and_why()
    {
        var e = StateUnwritableException.From(StateFault.ReadOnly, "/var/lib/switchyard/state.db", new SqliteException("attempt to write a readonly database", 8));
        Assert.StartsWith("the state directory /var/lib/switchyard is read-only (SQLite error 8: attempt to write a readonly database)", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_fault_is_reported_once_and_its_end_once()
    {
        var health = new StateWriteHealth();
        var changes = new List<StateFault?>();
        health.Changed += (fault, _) => changes.Add(fault);
        var full = StateUnwritableException.From(StateFault.Full, "/s/state.db", new SqliteException("database or disk is full", 13));

        health.Succeeded();
        for (int i = 0; i < 1000; i++) health.Failed(full);
        Assert.Equal([StateFault.Full], changes);
        Assert.Equal(StateFault.Full, health.Fault);
        Assert.Equal(1000, health.FailedWrites);

        health.Succeeded();
        health.Succeeded();
        Assert.Equal([StateFault.Full, null], changes);
        Assert.Null(health.Fault);

        health.Failed(full);
        Assert.Equal([StateFault.Full, null, StateFault.Full], changes);   // a new outage is a new report
    }
}
