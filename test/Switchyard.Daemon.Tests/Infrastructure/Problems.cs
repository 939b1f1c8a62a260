using System.Net;
using Switchyard.Client;

namespace Switchyard.Daemon.Tests.Infrastructure;

internal static class Problems
{
    /// <summary>Asserts the call fails with this status and a problem+json body with a non-empty detail.</summary>
    public static async Task<SwitchyardApiException> Expect(HttpStatusCode status, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<SwitchyardApiException>(call);
        Assert.Equal(status, e.StatusCode);
        Assert.NotNull(e.Problem);
        Assert.Equal((int)status, e.Problem!.Status);
        Assert.False(string.IsNullOrWhiteSpace(e.Problem.Detail));
        Assert.Equal(e.Problem.Detail, e.Message);
        return e;
    }

    /// <summary>Asserts a raw response is an error with Content-Type application/problem+json and a detail.</summary>
    public static async Task<string> ExpectRaw(HttpStatusCode status, HttpResponseMessage response)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        using var doc = System.Text.Json.JsonDocument.Parse(body);
        Assert.Equal((int)status, doc.RootElement.GetProperty("status").GetInt32());
        var detail = doc.RootElement.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        return detail!;
    }
}
