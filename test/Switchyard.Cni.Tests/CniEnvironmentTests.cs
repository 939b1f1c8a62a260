namespace Switchyard.Cni.Tests;

public sealed class CniEnvironmentTests
{
    [Fact]
    public void Cni_args_are_key_value_pairs()
    {
        var args = CniEnvironment.ParseArgs("IgnoreUnknown=1;K8S_POD_NAME=web;EMPTY=;");
        Assert.Equal("1", args["IgnoreUnknown"]);
        Assert.Equal("web", args["K8S_POD_NAME"]);
        Assert.Equal("", args["EMPTY"]);
        Assert.Empty(CniEnvironment.ParseArgs(null));
    }

    [Theory]
    [InlineData("novalue")]
    [InlineData("=x")]
    public void Malformed_cni_args_are_error_4(string text) =>
        Assert.Equal(CniErrors.InvalidEnvironment, Assert.Throws<CniException>(() => CniEnvironment.ParseArgs(text)).Code);

    [Fact]
    public void The_container_name_comes_from_k8s_pod_name()
    {
        var env = CniEnvironment.From(k => k switch { "CNI_ARGS" => "K8S_POD_NAME=db", "CNI_COMMAND" => "ADD", _ => "" });
        Assert.Equal("db", env.ContainerName);
        Assert.Null(env.ContainerId);
        Assert.Equal("ADD", env.Command);
    }

    [Fact]
    public void Kubernetes_pod_names_are_not_dns_names()
    {
        var env = CniEnvironment.From(k => k == "CNI_ARGS" ? "K8S_POD_NAMESPACE=team;K8S_POD_NAME=web" : null);
        Assert.Null(env.ContainerName);
    }
}
