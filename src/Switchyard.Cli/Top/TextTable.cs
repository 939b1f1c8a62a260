using System.Text;

namespace Switchyard.Cli.Top;

/// <summary>A column of a <see cref="TextTable"/>. <paramref name="Priority"/>: when the table is
/// wider than the screen, the column with the highest number goes first (0 stays longest).</summary>
internal sealed record TextColumn(string Header, int Priority, bool AlignRight = false, int MaxWidth = int.MaxValue);

/// <summary>Lays out rows in columns that fit a width: columns drop out by priority (what matters
/// least first), cells longer than their column's maximum end in "~", and any line still too wide
/// (one column left) is cut.</summary>
internal static class TextTable
{
    private const int Gap = 2;

    public static IEnumerable<string> Layout(string indent, IReadOnlyList<TextColumn> columns, IReadOnlyList<IReadOnlyList<string>> rows, int width)
    {
        var widths = new int[columns.Count];
        for (int i = 0; i < columns.Count; i++)
        {
            int w = columns[i].Header.Length;
            foreach (var r in rows) w = Math.Max(w, r[i].Length);
            widths[i] = Math.Min(w, Math.Max(columns[i].MaxWidth, columns[i].Header.Length));
        }
        var kept = Enumerable.Range(0, columns.Count).ToList();
        while (kept.Count > 1 && indent.Length + kept.Sum(i => widths[i]) + Gap * (kept.Count - 1) > width)
            kept.Remove(kept.MaxBy(i => (columns[i].Priority, i)));

        IEnumerable<IReadOnlyList<string>> all = [columns.Select(c => c.Header).ToList(), .. rows];
        var sb = new StringBuilder();
        foreach (var row in all)
        {
            sb.Clear().Append(indent);
            for (int k = 0; k < kept.Count; k++)
            {
                int i = kept[k];
                string cell = Clip(row[i], widths[i]);
                if (k > 0) sb.Append(' ', Gap);
                if (columns[i].AlignRight) sb.Append(' ', widths[i] - cell.Length).Append(cell);
                else sb.Append(cell).Append(' ', k == kept.Count - 1 ? 0 : widths[i] - cell.Length);
            }
            yield return Fit(sb.ToString(), width);
        }
    }

    /// <summary>The text, cut to <paramref name="width"/> with "~" as its last character when it was longer.</summary>
    public static string Clip(string text, int width) =>
        text.Length <= width ? text : width <= 1 ? text[..Math.Max(0, width)] : string.Concat(text.AsSpan(0, width - 1), "~");

    /// <summary>A line cut to the screen (trailing blanks first).</summary>
    public static string Fit(string line, int width)
    {
        line = line.TrimEnd();
        return line.Length <= width ? line : line[..Math.Max(0, width)];
    }
}
