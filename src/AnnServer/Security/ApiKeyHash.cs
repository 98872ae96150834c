using System.Security.Cryptography;
using System.Text;

namespace AnnServer.Security;

/// <summary>
/// The SHA-256 of an API key, which is all the server ever keeps of a key: the keys file and the environment hold
/// hashes, so reading them does not reveal a key. Keys are random (see <see cref="NewKey"/>), so a plain hash is
/// enough; a slow password hash would only add latency to every call.
/// </summary>
public static class ApiKeyHash
{
    public const int Bytes = 32;
    public const int HexLength = 2 * Bytes;

    /// <summary>Longest key accepted from a client; longer ones are refused without hashing.</summary>
    public const int MaxKeyLength = 1024;

    /// <summary>The hash as it is written in a keys file: 64 lowercase hexadecimal digits.</summary>
    public static string ToHex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Hashes <paramref name="key"/> into <paramref name="hash"/> (32 bytes) without allocating.</summary>
    public static void Compute(ReadOnlySpan<char> key, Span<byte> hash)
    {
        Span<byte> utf8 = stackalloc byte[MaxKeyLength * 3];
        int length = Encoding.UTF8.GetBytes(key, utf8);
        SHA256.HashData(utf8[..length], hash);
    }

    /// <summary>Parses 64 hexadecimal digits (either case).</summary>
    public static bool TryParseHex(string text, out byte[] hash)
    {
        hash = [];
        if (text.Length != HexLength) return false;
        foreach (char c in text)
            if (!char.IsAsciiHexDigit(c)) return false;
        hash = Convert.FromHexString(text);
        return true;
    }

    /// <summary>A new random key: "ann_" and 32 random bytes in base64url (256 bits).</summary>
    public static string NewKey()
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        return "ann_" + Convert.ToBase64String(random).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
