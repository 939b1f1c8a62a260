using System.Text.Json.Serialization;

namespace Switchyard.BenchRelay;

/// <summary>Source-generated JSON for the relay's two output lines (no reflection: trimming- and AOT-safe).</summary>
[JsonSerializable(typeof(Dictionary<string, object>))]
[JsonSerializable(typeof(Dictionary<string, long>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(bool))]
internal sealed partial class RelayJson : JsonSerializerContext;
