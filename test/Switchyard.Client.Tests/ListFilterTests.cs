namespace Switchyard.Client.Tests;

/// <summary>The --filter terms the CLI checks and the daemon matches with (Docker's rule: keys AND,
/// one key's terms OR, labels AND).</summary>
public sealed class ListFilterTests
{
    private static ListFilter Net(params string[] texts)
    {
        Assert.True(ListFilter.TryParse(texts, ListFilter.NetworkKeys, out var f, out var error), error);
        return f;
    }

    private static ListFilter Ep(params string[] texts)
    {
        Assert.True(ListFilter.TryParse(texts, ListFilter.EndpointKeys, out var f, out var error), error);
        return f;
    }

    private static readonly Dictionary<string, string> WebLabels = new() { ["team"] = "web", ["tier"] = "front", ["empty"] = "" };

    [Fact]
    public void No_terms_match_everything()
    {
        var f = Net();
        Assert.True(f.IsEmpty);
        Assert.Equal("", f.ToQuery());
        Assert.True(f.Matches("any", "nat", null, null));
    }

    [Theory]
    [InlineData("label=team", true)]
    [InlineData("label=team=web", true)]
    [InlineData("label=team=db", false)]
    [InlineData("label=empty=", true)]
    [InlineData("label=missing", false)]
    [InlineData("mode=nat", true)]
    [InlineData("mode=internal", false)]
    [InlineData("name=web", true)]       // a part of the name, as docker's name filter
    [InlineData("name=prod-web", true)]
    [InlineData("name=staging", false)]
    public void One_term_matches_a_network(string term, bool matches) =>
        Assert.Equal(matches, Net(term).Matches("prod-web", "nat", null, WebLabels));

    [Fact]
    public void Labels_must_all_match_other_keys_any()
    {
        Assert.True(Net("label=team=web", "label=tier=front").Matches("a", "nat", null, WebLabels));
        Assert.False(Net("label=team=web", "label=tier=back").Matches("a", "nat", null, WebLabels));
        Assert.True(Net("mode=host", "mode=nat").Matches("a", "nat", null, WebLabels));
        Assert.True(Net("name=x", "name=a").Matches("a", "nat", null, WebLabels));
        // Different keys: all must match.
        Assert.False(Net("mode=nat", "name=zzz").Matches("a", "nat", null, WebLabels));
        Assert.True(Net("mode=nat", "label=team", "name=a").Matches("a", "nat", null, WebLabels));
    }

    [Fact]
    public void A_label_value_may_hold_an_equals_sign()
    {
        var labels = new Dictionary<string, string> { ["expr"] = "a=b" };
        Assert.True(Net("label=expr=a=b").Matches("n", "nat", null, labels));
        Assert.False(Net("label=expr=a").Matches("n", "nat", null, labels));
    }

    [Fact]
    public void Endpoints_filter_by_exact_network()
    {
        var f = Ep("network=lab", "network=prod");
        Assert.True(f.Matches("web", null, "prod", null));
        Assert.False(f.Matches("web", null, "prod2", null));
        Assert.False(Ep("label=x").Matches("web", null, "prod", null));   // no labels at all
    }

    [Theory]
    [InlineData("mode", "network")]                  // no '='
    [InlineData("=nat", "network")]
    [InlineData("bogus=1", "network")]
    [InlineData("network=lab", "network")]          // an endpoint key
    [InlineData("mode=bridge", "network")]
    [InlineData("label=", "network")]
    [InlineData("label==v", "network")]
    [InlineData("name=", "network")]
    [InlineData("mode=nat", "endpoint")]            // a network key
    [InlineData("network=", "endpoint")]
    public void Bad_terms_are_refused_with_a_reason(string text, string kind)
    {
        var keys = kind == "network" ? ListFilter.NetworkKeys : ListFilter.EndpointKeys;
        Assert.False(ListFilter.TryParse([text], keys, out var f, out var error));
        Assert.True(f.IsEmpty);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void Unknown_key_names_the_keys()
    {
        Assert.False(ListFilter.TryParse(["driver=x"], ListFilter.NetworkKeys, out _, out var error));
        Assert.Equal("unknown filter 'driver': filters are label, mode, name", error);
    }

    [Fact]
    public void The_query_string_escapes_and_round_trips()
    {
        var f = Net("label=team=web & co", "mode=nat");
        Assert.Equal("?label=team%3Dweb%20%26%20co&mode=nat", f.ToQuery());
        var parsed = System.Web.HttpUtility.ParseQueryString(f.ToQuery());
        var terms = parsed.AllKeys.SelectMany(k => parsed.GetValues(k)!.Select(v => new KeyValuePair<string, string>(k!, v)));
        Assert.True(ListFilter.TryCreate(terms, ListFilter.NetworkKeys, out var again, out var error), error);
        Assert.Equal(f.Terms, again.Terms);
    }
}
