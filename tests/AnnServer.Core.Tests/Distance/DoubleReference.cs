namespace AnnServer.Core.Tests.Distance;

/// <summary>Scalar double-precision references the float kernels are checked against; used only by tests.</summary>
internal static class DoubleReference
{
    public static double SquaredL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }

    /// <summary>Sum of |a_i * b_i|: the scale of the rounding error of a dot product, whatever the cancellation.</summary>
    public static double DotMagnitude(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += Math.Abs((double)a[i] * b[i]);
        }

        return sum;
    }

    public static double Norm(ReadOnlySpan<float> v) => Math.Sqrt(Dot(v, v));
}
