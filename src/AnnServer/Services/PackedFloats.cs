using System.Runtime.CompilerServices;
using Google.Protobuf.Collections;

namespace AnnServer.Services;

/// <summary>
/// A read-only span over a parsed <c>repeated float</c> field, without copying it: Google.Protobuf keeps the elements
/// in a private array and offers no span, so we read that field through an <see cref="UnsafeAccessorAttribute"/>.
/// Chosen once: if a future Google.Protobuf renames the field, the probe at type initialisation fails and every call
/// falls back to a copy (correct, only slower); a test asserts that the zero-copy path is the one in use.
/// </summary>
internal static class PackedFloats
{
    /// <summary>True when spans alias the field's own storage (no copy).</summary>
    public static bool IsZeroCopy { get; } = Probe();

    public static ReadOnlySpan<float> AsSpan(RepeatedField<float> field) =>
        IsZeroCopy ? new ReadOnlySpan<float>(RepeatedFieldStorage<float>.ElementsOf(field), 0, field.Count) : field.ToArray();

    /// <summary>The field's elements as memory, for calls that outlive a span (a query handed to the data plane).</summary>
    public static ReadOnlyMemory<float> AsMemory(RepeatedField<float> field) =>
        IsZeroCopy ? new ReadOnlyMemory<float>(RepeatedFieldStorage<float>.ElementsOf(field), 0, field.Count) : field.ToArray();

    private static bool Probe()
    {
        try
        {
            var field = new RepeatedField<float> { 1f, 2f, 3f };
            float[] elements = RepeatedFieldStorage<float>.ElementsOf(field);
            return elements.Length >= 3 && elements[0] == 1f && elements[1] == 2f && elements[2] == 3f;
        }
        catch (MissingFieldException)
        {
            return false;
        }
    }

    /// <summary>The accessor lives in a generic class: the runtime resolves an accessor into a generic type only from a
    /// matching generic declaration (one written against the closed RepeatedField&lt;float&gt; finds no field).</summary>
    private static class RepeatedFieldStorage<T>
    {
        [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "array")]
        public static extern ref T[] ElementsOf(RepeatedField<T> field);
    }
}
