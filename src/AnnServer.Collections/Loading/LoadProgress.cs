namespace AnnServer.Collections;

/// <summary>How far a snapshot load has come: its <see cref="Step"/>, and <see cref="BytesDone"/> of the file's
/// <see cref="TotalBytes"/> received or copied (the later steps read the whole copy again, without a count).</summary>
public sealed record LoadProgress(LoadStep Step, long BytesDone, long TotalBytes);
