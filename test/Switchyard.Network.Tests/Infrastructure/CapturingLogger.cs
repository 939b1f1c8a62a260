using Microsoft.Extensions.Logging;

namespace Switchyard.Network.Tests.Infrastructure;

/// <summary>Keeps every line logged through it (event id, level, text), for tests that count lines.</summary>
internal sealed class CapturingLogger : ILogger
{
    private readonly Lock _lock = new();
    private readonly List<(EventId Id, LogLevel Level, string Text)> _lines = [];

    public IReadOnlyList<(EventId Id, LogLevel Level, string Text)> Lines
    {
        get { lock (_lock) return [.. _lines]; }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lock) _lines.Add((eventId, logLevel, formatter(state, exception)));
    }
}
