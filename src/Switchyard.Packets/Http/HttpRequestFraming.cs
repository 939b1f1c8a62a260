namespace Switchyard.Packets.Http;

/// <summary>
/// Where the message boundaries of an HTTP/1.x client→server stream are (RFC 9112 §6-§7), so that every request
/// head can be found and read, not just the first. The caller alternates: at a head (<see cref="AtHead"/>) it parses
/// one with <see cref="HttpRequestHead.TryParse"/> and calls <see cref="Begin"/>; otherwise it hands the following
/// bytes to <see cref="Consume"/>, which takes those of the current body and stops at the next head. Streaming: the
/// bytes may come in pieces of any size, split anywhere; nothing is buffered (a few counters are the whole state).
/// </summary>
/// <remarks>
/// Chunked bodies (RFC 9112 §7.1) are read strictly, since a framing we read differently from the server is a request
/// it sees and we do not: every line ends in CRLF (a bare LF or CR is an error here, though §2.2 lets a head line end
/// in LF), chunk-size is 1-15 hex digits, a chunk extension is visible ASCII, SP and HTAB up to
/// <see cref="MaxLineLength"/> bytes, and trailer field lines are "name: value" with no obs-fold, at most
/// <see cref="MaxTrailerLength"/> bytes in all.
/// After a CONNECT or a request with Upgrade the server may (2xx, 101) or may not have switched protocols, which only
/// its answer tells; <see cref="AfterSwitch"/> then decides on the next byte: one that can start a request (a token
/// byte, CR or LF) keeps the stream HTTP, anything else (a TLS record, a WebSocket frame) makes it opaque for good.
/// A server that did not switch reads such a byte as a broken request line and answers 400, so nothing it would serve
/// passes unread.
/// </remarks>
public struct HttpRequestFraming
{
    /// <summary>Longest chunk-size line (with its extensions) and trailer field line.</summary>
    public const int MaxLineLength = 4096;
    /// <summary>Most bytes of a trailer section.</summary>
    public const int MaxTrailerLength = HttpRequestHead.MaxHeadLength;
    private const int MaxChunkSizeDigits = 15;   // 2^60: no overflow

    private enum Phase : byte
    {
        Head, Body, ChunkSize, ChunkExtension, ChunkSizeLf, ChunkData, ChunkDataCr, ChunkDataLf,
        TrailerLineStart, TrailerName, TrailerValue, TrailerLf, FinalLf, AfterSwitch, Opaque, Broken,
    }

    private Phase _phase;
    private bool _switchAfterBody;
    private long _remaining;      // body or chunk bytes left; in ChunkSize the size read so far
    private int _lineLength;      // bytes of the current chunk-size or trailer line
    private int _trailerLength;   // bytes of the trailer section so far

    /// <summary>The next byte starts a request head (or the empty lines before one).</summary>
    public readonly bool AtHead => _phase == Phase.Head;
    /// <summary>The connection became a tunnel or another protocol: the bytes that follow are not HTTP/1.x.</summary>
    public readonly bool IsOpaque => _phase == Phase.Opaque;
    /// <summary>A CONNECT or Upgrade request ended: the next byte says whether the stream is still HTTP.</summary>
    public readonly bool AfterSwitch => _phase == Phase.AfterSwitch;

    /// <summary>The head just parsed (<paramref name="head"/>.Length bytes, now behind the caller) starts its body.</summary>
    public void Begin(in HttpRequestInfo head)
    {
        _switchAfterBody = head.Connect || head.Upgrade;
        _lineLength = _trailerLength = 0;
        _remaining = 0;
        if (head.Chunked) _phase = Phase.ChunkSize;
        else if (head.ContentLength > 0) { _phase = Phase.Body; _remaining = head.ContentLength; }
        else EndMessage();
    }

    /// <summary>Takes the bytes at the start of <paramref name="data"/> that belong to the current message (body,
    /// chunk framing, trailers) and returns how many; fewer than all when a head follows, or when the stream turns
    /// opaque. -1 when the chunked framing is broken (the connection must end).</summary>
    public int Consume(ReadOnlySpan<byte> data)
    {
        int i = 0;
        while (i < data.Length)
        {
            switch (_phase)
            {
                case Phase.Head or Phase.Opaque:
                    return i;
                case Phase.Broken:
                    return -1;
                case Phase.AfterSwitch:
                    byte first = data[i];
                    _phase = first is (byte)'\r' or (byte)'\n' || HttpRequestHead.IsTokenByte(first) ? Phase.Head : Phase.Opaque;
                    return i;
                case Phase.Body or Phase.ChunkData:
                    int take = (int)Math.Min(_remaining, data.Length - i);
                    i += take;
                    _remaining -= take;
                    if (_remaining == 0)
                    {
                        if (_phase == Phase.ChunkData) _phase = Phase.ChunkDataCr;
                        else EndMessage();
                    }
                    break;
                default:
                    if (!Step(data[i++])) { _phase = Phase.Broken; return -1; }
                    break;
            }
        }
        return i;
    }

    /// <summary>One byte of chunk framing or trailers; false when it breaks the grammar.</summary>
    private bool Step(byte b)
    {
        switch (_phase)
        {
            case Phase.ChunkSize:
                if (char.IsAsciiHexDigit((char)b))
                {
                    if (++_lineLength > MaxChunkSizeDigits) return false;
                    _remaining = (_remaining << 4) | (long)HexValue(b);
                    return true;
                }
                if (_lineLength == 0) return false;   // chunk-size = 1*HEXDIG
                if (b == (byte)'\r') { _phase = Phase.ChunkSizeLf; return true; }
                // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): read as far as its bytes go.
                if (b is not ((byte)';' or (byte)' ' or (byte)'\t')) return false;
                _phase = Phase.ChunkExtension;
                return true;
            case Phase.ChunkExtension:
                if (b == (byte)'\r') { _phase = Phase.ChunkSizeLf; return true; }
                return IsVisibleOrBlank(b) && ++_lineLength <= MaxLineLength;
            case Phase.ChunkSizeLf:
                if (b != (byte)'\n') return false;
                _lineLength = 0;
                _phase = _remaining == 0 ? Phase.TrailerLineStart : Phase.ChunkData;   // last-chunk = 1*"0"
                return true;
            case Phase.ChunkDataCr:
                _phase = Phase.ChunkDataLf;
                return b == (byte)'\r';
            case Phase.ChunkDataLf:
                _phase = Phase.ChunkSize;
                return b == (byte)'\n';
            case Phase.TrailerLineStart:
                if (++_trailerLength > MaxTrailerLength) return false;
                if (b == (byte)'\r') { _phase = Phase.FinalLf; return true; }
                // A field line: a token name (no leading whitespace: that would be obs-fold).
                if (!HttpRequestHead.IsTokenByte(b)) return false;
                _lineLength = 1;
                _phase = Phase.TrailerName;
                return true;
            case Phase.TrailerName:
                if (++_trailerLength > MaxTrailerLength || ++_lineLength > MaxLineLength) return false;
                if (b == (byte)':') { _phase = Phase.TrailerValue; return true; }
                return HttpRequestHead.IsTokenByte(b);   // no whitespace before the colon (RFC 9112 §5.1)
            case Phase.TrailerValue:
                if (++_trailerLength > MaxTrailerLength || ++_lineLength > MaxLineLength) return false;
                if (b == (byte)'\r') { _phase = Phase.TrailerLf; return true; }
                return IsVisibleOrBlank(b);
            case Phase.TrailerLf:
                if (++_trailerLength > MaxTrailerLength || b != (byte)'\n') return false;
                _phase = Phase.TrailerLineStart;
                return true;
            case Phase.FinalLf:
                if (b != (byte)'\n') return false;
                EndMessage();
                return true;
            default:
                return false;
        }
    }

    private void EndMessage() => _phase = _switchAfterBody ? Phase.AfterSwitch : Phase.Head;

    /// <summary>VCHAR, SP, HTAB and obs-text (RFC 9110 §5.5): what a field value or chunk extension may hold.</summary>
    private static bool IsVisibleOrBlank(byte b) => b is (>= 0x20 and not 0x7F) or (byte)'\t';

    private static int HexValue(byte b) => b <= (byte)'9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
