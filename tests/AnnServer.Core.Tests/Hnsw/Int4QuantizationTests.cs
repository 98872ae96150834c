using AnnServer.Core;
using AnnServer.Core.Distance;
using AnnServer.Core.Hnsw;

namespace AnnServer.Core.Tests.Hnsw;

/// <summary>The int4 codes and their kernel; the recall of a walk on them is in <see cref="QuantizationTests"/>.</summary>
public unsafe class Int4QuantizationTests
{
    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(896)]
    [InlineData(4096)]
    public void Int4DotProductPathsMatchTheScalarSum(int length)
    {
        var random = new Random(length);
        var query = new sbyte[length];
        var unpacked = new int[length];
        for (int i = 0; i < length; i++)
        {
            query[i] = i % 7 == 0 ? (sbyte)0 : (sbyte)random.Next(-127, 128);
            unpacked[i] = random.Next(0, 16);
        }
        // The extremes, in both nibbles of one byte.
        query[1] = -127; unpacked[1] = 15;
        query[65] = 127; unpacked[65] = 15;
        var packed = new byte[length / 2];
        for (int i = 0; i < length; i++)
        {
            int block = i / 128, within = i % 128;
            if (within < 64) packed[block * 64 + within] |= (byte)unpacked[i];
            else packed[block * 64 + within - 64] |= (byte)(unpacked[i] << 4);
        }
        long expected = 0;
        for (int i = 0; i < length; i++) expected += query[i] * unpacked[i];
        fixed (sbyte* q = query)
        fixed (byte* codes = packed)
        {
            Assert.Equal(expected, Int4DotProductKernel.Scalar(q, codes, length));
            Assert.Equal(expected, Int4DotProductKernel.Avx2Path(q, codes, length));
            Assert.Equal(expected, Int4DotProductKernel.VnniPath(q, codes, length));
            Assert.Equal(expected, Int4DotProductKernel.Avx512Path(q, codes, length));
            Assert.Equal(expected, Int4DotProductKernel.Compute(q, codes, length));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(128)]
    [InlineData(784)]
    public void Int4EncodingIsWithinHalfAStepOfEveryComponent(int dimension)
    {
        var random = new Random(dimension);
        var vector = new float[dimension];
        for (int i = 0; i < dimension; i++) vector[i] = (float)(random.NextDouble() * 6 - 2);
        int rowBytes = Int4Codes.RowBytes(dimension);
        byte* row = stackalloc byte[rowBytes];
        new Span<byte>(row, rowBytes).Fill(0xAB);
        fixed (float* v = vector) Int4Codes.Encode(v, dimension, row);

        float low = Int4Codes.Low(row), step = Int4Codes.Step(row);
        Assert.Equal(vector.Min(), low);
        Assert.Equal((vector.Max() - low) / 15, step);
        byte* codes = Int4Codes.Codes(row);
        double approximationNorm = 0, errorNorm = 0;
        for (int i = 0; i < Int4Codes.PaddedLength(dimension); i++)
        {
            int block = i / 128, within = i % 128;
            int code = within < 64 ? codes[block * 64 + within] & 0x0F : codes[block * 64 + within - 64] >> 4;
            if (i >= dimension)
            {
                Assert.Equal(0, code);
                continue;
            }
            double approximation = low + (double)step * code;
            Assert.True(Math.Abs(approximation - vector[i]) <= step / 2 + 1e-5, $"component {i}: {approximation} for {vector[i]}");
            approximationNorm += approximation * approximation;
            errorNorm += (approximation - vector[i]) * (approximation - vector[i]);
        }
        Assert.Equal(approximationNorm - errorNorm, Int4Codes.L2Correction(row), 2);
        Assert.Equal(dimension <= 128 ? 12 + 64 : 12 + 448, rowBytes);
    }

    [Fact]
    public void AConstantVectorEncodesAsItsLowWithStepZero()
    {
        var vector = Enumerable.Repeat(3.5f, 40).ToArray();
        byte* row = stackalloc byte[Int4Codes.RowBytes(40)];
        fixed (float* v = vector) Int4Codes.Encode(v, 40, row);
        Assert.Equal(3.5f, Int4Codes.Low(row));
        Assert.Equal(0f, Int4Codes.Step(row));
        Assert.Equal(40 * 3.5f * 3.5f, Int4Codes.L2Correction(row));
    }

    [Theory]
    [InlineData(DistanceMetric.L2)]
    [InlineData(DistanceMetric.InnerProduct)]
    public void TheEstimatedDistanceIsCloseToTheExactOne(DistanceMetric metric)
    {
        const int dimension = 128;
        float[] data = TestData.Clustered(200, dimension, seed: 63);
        using var storage = new GraphStorage(dimension, metric, 16, 100, VectorQuantization.Int4);
        storage.EnsureCapacity(200);
        for (int node = 0; node < 200; node++)
        {
            data.AsSpan(node * dimension, dimension).CopyTo(new Span<float>(storage.Vector(node), dimension));
            storage.EncodeCodes(node);
        }
        byte* buffer = stackalloc byte[Int4Codes.QueryBytes(dimension)];
        float[] query = TestData.Clustered(1, dimension, seed: 64);
        fixed (float* q = query)
        {
            Int4Codes.EncodeQuery(q, dimension, buffer);
            for (int node = 0; node < 200; node++)
            {
                float exact = metric == DistanceMetric.L2
                    ? SquaredL2Distance.Compute(q, storage.Vector(node), dimension)
                    : InnerProductDistance.Compute(q, storage.Vector(node), dimension);
                float estimate = metric == DistanceMetric.L2
                    ? new Int4L2Query(storage, buffer).Distance(node)
                    : new Int4InnerProductQuery(storage, buffer).Distance(node);
                // L2: the error is −2⟨q − x, e⟩, proportional to the distance itself. Inner product: ⟨q, e⟩, a small share
                // of ‖q‖·‖x‖ (a step is about 2/15 of a range of 2 here; the errors of 128 components mostly cancel).
                float tolerance = metric == DistanceMetric.L2
                    ? 0.05f * exact + 0.05f
                    : 0.02f * MathF.Sqrt(SquaredNorm(q, dimension) * SquaredNorm(storage.Vector(node), dimension));
                Assert.True(MathF.Abs(estimate - exact) <= tolerance, $"node {node}: estimate {estimate}, exact {exact}");
            }
        }
    }

    private static float SquaredNorm(float* v, int dimension)
    {
        float sum = 0;
        for (int i = 0; i < dimension; i++) sum += v[i] * v[i];
        return sum;
    }
}
