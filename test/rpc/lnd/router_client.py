# grpcio (Python) client for test/rpc/lnd/router.test.ts: runs each operation in argv[7] (JSON list)
# against anode's routerrpc.Router with stubs generated from anode's proto/, and prints for each the
# streamed lnrpc.Payment messages (proto field names) or the gRPC error.
import json, sys, grpc
from google.protobuf import json_format
sys.path.insert(0, sys.argv[1])
from routerrpc import router_pb2 as rr, router_pb2_grpc as rrg
addr, cert, admin, ro, ops = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], json.loads(sys.argv[6])
ch = grpc.secure_channel(addr, grpc.ssl_channel_credentials(root_certificates=open(cert, 'rb').read()))
R = rrg.RouterStub(ch)
def as_dict(m):
    try:
        return json_format.MessageToDict(m, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    except TypeError:  # protobuf before 5.26
        return json_format.MessageToDict(m, preserving_proto_field_name=True, including_default_value_fields=True)
out = []
for op in ops:
    mac = ro if op.get('readonly') else admin
    try:
        if op['op'] == 'send':
            stream = R.SendPaymentV2(json_format.ParseDict(op['req'], rr.SendPaymentRequest()), metadata=[('macaroon', mac)], timeout=60)
        else:
            stream = R.TrackPaymentV2(json_format.ParseDict(op['req'], rr.TrackPaymentRequest()), metadata=[('macaroon', mac)], timeout=60)
        msgs = [as_dict(p) for p in stream]
        out.append({'ok': True, 'msgs': msgs})
    except grpc.RpcError as e:
        out.append({'ok': False, 'code': e.code().name, 'details': e.details()})
print(json.dumps(out))
