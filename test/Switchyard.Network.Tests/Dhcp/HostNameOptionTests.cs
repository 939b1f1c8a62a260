using System.Text;
using Switchyard.Network.Dhcp;

namespace Switchyard.Network.Tests.Dhcp;

public sealed class HostNameOptionTests
{
    [Theory]
    [InlineData("web-1", "web-1")]
    [InlineData("Build_Box", "build-box")]
    [InlineData("db.corp.example", "db")]
    [InlineData("--odd  name--", "odd-name")]
    [InlineData("name\0junk", "name")]
    [InlineData("", null)]
    [InlineData("___", null)]
    [InlineData(".leading", null)]
    [InlineData("ünï", "n")]
    public void Option_12_becomes_one_lower_case_dns_label(string option, string? label) =>
        Assert.Equal(label, HostNameOption.ToLabel(Encoding.Latin1.GetBytes(option)));

    [Fact]
    public void A_long_name_is_cut_to_63_characters() =>
        Assert.Equal(new string('a', 63), HostNameOption.ToLabel(Encoding.ASCII.GetBytes(new string('a', 80))));
}
