namespace AnnServer.Collections;

/// <summary>How a recommendation turns its examples into a search.</summary>
public enum RecommendStrategy
{
    /// <summary>One query vector: the positives' mean pushed away from the negatives' mean, avg_pos + (avg_pos − avg_neg)
    /// (Qdrant's average_vector); the positives' mean alone without negatives. As fast as a plain search.</summary>
    AverageVector = 0,

    /// <summary>Each point scored by its nearest positive against its nearest negative (Core's BestScore), the graph walked
    /// with that score. A distance per example per point scored; the hits' distances are the scores.</summary>
    BestScore = 1,
}
