using System.Text.Json.Serialization;

namespace Switchyard.Daemon;

/// <summary>JSON for what the daemon stores (the wire types live in Switchyard.Client).</summary>
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class DaemonJsonContext : JsonSerializerContext;
