using AnnServer.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>
/// Binds our services' methods with request deserializers that turn a message that is not valid protobuf (random
/// bytes, a truncated field, a length past the end) into INVALID_ARGUMENT naming the message type. Without it
/// Grpc.AspNetCore answers UNKNOWN "Exception was thrown by handler." and logs an error for every such request, which
/// tells the client nothing and lets anyone fill the server's log. gRPC finds the bind method through the
/// <see cref="BindServiceMethodAttribute"/> on each service class; the generated BindService does the rest through
/// this binder, which only swaps the request marshaller. The bind methods take the generated base types, because
/// gRPC looks for the overridden methods against the type of that parameter.
/// </summary>
public sealed class ParseErrorBinder(ServiceBinderBase inner) : ServiceBinderBase
{
    // One class per service, each with the service's Descriptor: JSON transcoding reads the google.api.http annotations
    // from a static Descriptor on the class of the bind method, and maps nothing without one.

    public static class VectorBinding
    {
        public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => VectorService.Descriptor;

        public static void Bind(ServiceBinderBase binder, VectorService.VectorServiceBase service) =>
            VectorService.BindService(new ParseErrorBinder(binder), service);
    }

    public static class CollectionBinding
    {
        public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => CollectionService.Descriptor;

        public static void Bind(ServiceBinderBase binder, CollectionService.CollectionServiceBase service) =>
            CollectionService.BindService(new ParseErrorBinder(binder), service);
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Checked(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Checked(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Checked(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Checked(method), handler);

    private static Method<TRequest, TResponse> Checked<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class where TResponse : class
    {
        Marshaller<TRequest> original = method.RequestMarshaller;
        Marshaller<TRequest> checkedRequests = Marshallers.Create(original.ContextualSerializer, context =>
        {
            try
            {
                return original.ContextualDeserializer(context);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"the request is not a valid {typeof(TRequest).Name} message (protobuf): {e.Message}"));
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, checkedRequests, method.ResponseMarshaller);
    }
}
