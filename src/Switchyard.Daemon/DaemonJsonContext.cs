using System.Text.Json.Serialization;

namespace Switchyard.Daemon;

/// <summary>JSON for what the daemon stores (the wire types live in Switchyard.Client).</summary>
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(State.StoredVxlan))]
internal sealed partial class DaemonJsonContext : JsonSerializerContext;
