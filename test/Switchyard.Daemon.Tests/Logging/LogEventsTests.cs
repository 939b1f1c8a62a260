using System.Reflection;
using Microsoft.Extensions.Logging;
using Switchyard.Network;

namespace Switchyard.Daemon.Tests.Logging;

/// <summary>Every log method's event id comes from <see cref="LogEvents"/>, and no two share one.</summary>
public sealed class LogEventsTests
{
    private static readonly Assembly[] Assemblies =
        [typeof(LogEvents).Assembly, typeof(DaemonHost).Assembly, typeof(Platform.PlatformException).Assembly, typeof(Client.SwitchyardClient).Assembly];

    private static IEnumerable<(string Method, int Id)> LogMethods() =>
        from assembly in Assemblies
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
        let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attribute is not null
        select ($"{type.FullName}.{method.Name}", attribute.EventId);

    private static Dictionary<int, string> Registry() =>
        typeof(LogEvents).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .ToDictionary(f => (int)f.GetRawConstantValue()!, f => f.Name);

    [Fact]
    public void The_registry_gives_each_id_once()
    {
        var fields = typeof(LogEvents).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToList();
        var twice = fields.GroupBy(f => (int)f.GetRawConstantValue()!).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(f => f.Name))}");
        Assert.Empty(twice);
    }

    [Fact]
    public void Every_log_method_has_its_own_id_from_the_registry()
    {
        var methods = LogMethods().ToList();
        Assert.True(methods.Count >= 40, $"found only {methods.Count} log methods: is the reflection still finding them?");
        var registry = Registry();
        Assert.Empty(methods.Where(m => !registry.ContainsKey(m.Id)).Select(m => $"{m.Method} uses {m.Id}, which LogEvents does not name"));
        Assert.Empty(methods.GroupBy(m => m.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}"));
        Assert.Empty(registry.Keys.Except(methods.Select(m => m.Id)).Select(id => $"LogEvents.{registry[id]} ({id}) is used by no log method"));
    }
}
