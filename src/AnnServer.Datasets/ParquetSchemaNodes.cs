using ParquetSharp;
using ParquetSharp.Schema;

namespace AnnServer.Datasets;

/// <summary>Finding top-level columns in a Parquet schema and naming their types as a user would recognise them.</summary>
internal static class ParquetSchemaNodes
{
    public static string DescribeAll(SchemaDescriptor schema) => string.Join(", ", schema.GroupNode.Fields.Select(Describe));

    public static Node Field(string file, GroupNode root, string name, string role, string present)
    {
        int index = root.FieldIndex(name);
        if (index < 0)
            throw new InvalidDataException($"{file}: no {role} column '{name}'; the columns are {present}");
        return root.Field(index);
    }

    /// <summary>The only leaf column under top-level field <paramref name="name"/>, or -1 and null when there are several.</summary>
    public static int Leaf(SchemaDescriptor schema, string name, out ColumnDescriptor? leaf)
    {
        int found = -1;
        leaf = null;
        for (int i = 0; i < schema.NumColumns; i++)
        {
            var column = schema.Column(i);
            if (column.Path.ToDotVector()[0] != name) continue;
            if (found >= 0)
            {
                leaf = null;
                return -1;
            }
            found = i;
            leaf = column;
        }
        return found;
    }

    public static bool IsList(Node node) =>
        node is GroupNode && (node.LogicalType.Type == LogicalTypeEnum.List || node.ConvertedType == ConvertedType.List);

    /// <summary>"embedding (list&lt;float&gt;)", "id (int64)": a column as a user would recognise it in an error message.</summary>
    public static string Describe(Node node) => $"{node.Name} ({TypeName(node)})";

    public static string TypeName(Node node)
    {
        if (node is PrimitiveNode primitive)
        {
            var logical = primitive.LogicalType.Type;
            return logical switch
            {
                LogicalTypeEnum.None => primitive.PhysicalType.ToString().ToLowerInvariant(),
                LogicalTypeEnum.Int when primitive.LogicalType is IntLogicalType i => $"{(i.IsSigned ? "" : "u")}int{i.BitWidth}",
                _ => logical.ToString().ToLowerInvariant(),
            };
        }
        var group = (GroupNode)node;
        if (IsList(node) && group.FieldCount == 1)
        {
            var inner = group.Field(0);
            var element = inner is GroupNode { FieldCount: 1 } repeated && inner.Repetition == Repetition.Repeated ? repeated.Field(0) : inner;
            return $"list<{TypeName(element)}>";
        }
        return node.LogicalType.Type == LogicalTypeEnum.Map ? "map" : "struct";
    }

    /// <summary>A two-level (legacy) list, whose repeated field is the element itself; ParquetSharp's list reader knows the
    /// standard three-level layout only (LIST group, repeated group, element).</summary>
    public static bool IsTwoLevelList(Node node) =>
        IsList(node) && node is GroupNode { FieldCount: 1 } legacy && legacy.Field(0) is PrimitiveNode { Repetition: Repetition.Repeated };
}
