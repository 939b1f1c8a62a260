using System.Text;

namespace Switchyard.Cli.Top;

/// <summary>The terminal while `yard top` runs: the alternate screen (so the shell's screen comes
/// back as it was) with the cursor hidden; each frame redraws from the top-left corner in place,
/// clearing what the last frame left beyond it. Dispose restores the terminal.</summary>
internal sealed class TopScreen : IDisposable
{
    private const string Esc = "\u001b[";
    private readonly TextWriter _out;
    private int _disposed;

    public TopScreen(TextWriter output)
    {
        _out = output;
        _out.Write(Esc + "?1049h" + Esc + "?25l");
        _out.Flush();
    }

    /// <summary>Columns and rows of the terminal now (it may have been resized); 80x24 when unknown.</summary>
    public static (int Width, int Height) Size()
    {
        try
        {
            int w = Console.WindowWidth, h = Console.WindowHeight;
            return (w > 0 ? w : 80, h > 0 ? h : 24);
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException) { return (80, 24); }
    }

    public void Draw(IReadOnlyList<string> lines)
    {
        // One write per frame: no flicker from a half-drawn screen. No newline after the last
        // line, so a full screen does not scroll.
        var sb = new StringBuilder(Esc + "H");
        for (int i = 0; i < lines.Count; i++)
        {
            sb.Append(lines[i]).Append(Esc + "K");
            if (i < lines.Count - 1) sb.Append("\r\n");
        }
        sb.Append(Esc + "J");
        _out.Write(sb.ToString());
        _out.Flush();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _out.Write(Esc + "?25h" + Esc + "?1049l");
        _out.Flush();
    }
}
