using Switchyard.Client;
using Switchyard.Cni;

// The CNI plugin `switchyard`: container runtimes run it once per command (CNI spec 1.0). It
// writes only JSON on stdout: the result, VERSION's answer, or an error object.
var plugin = new CniPlugin(CniEnvironment.FromProcess(), socket => new SwitchyardClient(socket));
using var stdin = Console.OpenStandardInput();
return await plugin.RunAsync(stdin, Console.Out);
