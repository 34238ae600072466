/**
 * The operations the simulator implements, as one typed table, and the Swagger
 * 1.1 description generated from it (the dialect Asterisk 22 serves at
 * /ari/api-docs; ari-client 2.2.0 builds its methods from it at connect time).
 *
 * Every operation and parameter below matches Asterisk 22.10.1's own
 * description (names, paramType, required, allowMultiple, dataType,
 * allowableValues, defaultValue, path templates); it is written here by hand
 * rather than copied, and covers only what the simulator answers.
 */

export type ResourceName = 'asterisk' | 'channels' | 'bridges' | 'applications' | 'events';
export type HttpMethod = 'GET' | 'POST' | 'DELETE';
export type ParamDataType = 'string' | 'int' | 'long' | 'boolean' | 'containers';

export interface ParamSpec {
  readonly name: string;
  readonly paramType: 'path' | 'query' | 'body';
  readonly required: boolean;
  readonly allowMultiple: boolean;
  readonly dataType: ParamDataType;
  readonly description: string;
  readonly defaultValue?: string | number | boolean;
  readonly allowableValues?: readonly string[];
}

export type OperationId =
  | 'asterisk.getInfo'
  | 'channels.list'
  | 'channels.originate'
  | 'channels.externalMedia'
  | 'channels.get'
  | 'channels.originateWithId'
  | 'channels.hangup'
  | 'channels.answer'
  | 'channels.getChannelVar'
  | 'channels.setChannelVar'
  | 'channels.mute'
  | 'channels.unmute'
  | 'bridges.list'
  | 'bridges.create'
  | 'bridges.createWithId'
  | 'bridges.get'
  | 'bridges.destroy'
  | 'bridges.addChannel'
  | 'bridges.removeChannel'
  | 'applications.list'
  | 'applications.get'
  | 'events.eventWebsocket';

export interface OperationSpec {
  readonly id: OperationId;
  readonly resource: ResourceName;
  /** Path template below /ari, e.g. `/channels/{channelId}`. */
  readonly path: string;
  readonly pathDescription: string;
  readonly httpMethod: HttpMethod;
  readonly nickname: string;
  readonly summary: string;
  readonly responseClass: string;
  readonly parameters: readonly ParamSpec[];
  readonly errorResponses: readonly { readonly code: number; readonly reason: string }[];
  readonly upgrade?: 'websocket';
}

const q = (
  name: string,
  description: string,
  extra: Partial<Pick<ParamSpec, 'required' | 'allowMultiple' | 'dataType' | 'defaultValue' | 'allowableValues'>> = {},
): ParamSpec => ({
  name,
  paramType: 'query',
  required: extra.required ?? false,
  allowMultiple: extra.allowMultiple ?? false,
  dataType: extra.dataType ?? 'string',
  description,
  ...(extra.defaultValue !== undefined ? { defaultValue: extra.defaultValue } : {}),
  ...(extra.allowableValues !== undefined ? { allowableValues: extra.allowableValues } : {}),
});
const p = (name: string, description: string): ParamSpec => ({
  name,
  paramType: 'path',
  required: true,
  allowMultiple: false,
  dataType: 'string',
  description,
});
const variablesBody = (description: string): ParamSpec => ({
  name: 'variables',
  paramType: 'body',
  required: false,
  allowMultiple: false,
  dataType: 'containers',
  description,
});

const HANGUP_REASONS = [
  'normal',
  'busy',
  'congestion',
  'no_answer',
  'timeout',
  'rejected',
  'unallocated',
  'normal_unspecified',
  'number_incomplete',
  'codec_mismatch',
  'interworking',
  'failure',
  'answered_elsewhere',
] as const;
export type HangupReason = (typeof HANGUP_REASONS)[number];
export const hangupReasons: readonly string[] = HANGUP_REASONS;

const DIRECTIONS = ['both', 'in', 'out'] as const;

/** Originate parameters after `endpoint` (shared by originate and originateWithId). */
const originateTail: readonly ParamSpec[] = [
  q('extension', "The extension to dial after the endpoint answers. Mutually exclusive with 'app'."),
  q('context', "The context to dial after the endpoint answers. If omitted, uses 'default'. Mutually exclusive with 'app'."),
  q('priority', "The priority to dial after the endpoint answers. If omitted, uses 1. Mutually exclusive with 'app'.", { dataType: 'long' }),
  q('label', "The label to dial after the endpoint answers. Will supersede 'priority' if provided. Mutually exclusive with 'app'."),
  q('app', "The application that is subscribed to the originated channel. When the channel is answered, it will be passed to this Stasis application. Mutually exclusive with 'context', 'extension', 'priority', and 'label'."),
  q('appArgs', "The application arguments to pass to the Stasis application provided by 'app'. Mutually exclusive with 'context', 'extension', 'priority', and 'label'."),
  q('callerId', 'CallerID to use when dialing the endpoint or extension.'),
  q('timeout', 'Timeout (in seconds) before giving up dialing, or -1 for no timeout.', { dataType: 'int', defaultValue: 30 }),
  variablesBody('The "variables" key in the body object holds variable key/value pairs to set on the channel on creation. Other keys in the body object are interpreted as query parameters. Ex. { "endpoint": "SIP/Alice", "variables": { "CALLERID(name)": "Alice" } }'),
];
const originateAfterId: readonly ParamSpec[] = [
  q('otherChannelId', 'The unique id to assign the second channel when using local channels.'),
  q('originator', 'The unique id of the channel which is originating this one.'),
  q('formats', 'The format name capability list to use if originator is not specified. Ex. "ulaw,slin16".  Format names can be found with "core show codecs".'),
];

export const operations: readonly OperationSpec[] = [
  {
    id: 'asterisk.getInfo',
    resource: 'asterisk',
    path: '/asterisk/info',
    pathDescription: 'Asterisk system information (similar to core show settings)',
    httpMethod: 'GET',
    nickname: 'getInfo',
    summary: 'Gets Asterisk system information.',
    responseClass: 'AsteriskInfo',
    parameters: [
      q('only', 'Filter information returned', { allowMultiple: true, allowableValues: ['build', 'system', 'config', 'status'] }),
    ],
    errorResponses: [],
  },
  {
    id: 'channels.list',
    resource: 'channels',
    path: '/channels',
    pathDescription: 'Active channels',
    httpMethod: 'GET',
    nickname: 'list',
    summary: 'List all active channels in Asterisk.',
    responseClass: 'List[Channel]',
    parameters: [],
    errorResponses: [],
  },
  {
    id: 'channels.originate',
    resource: 'channels',
    path: '/channels',
    pathDescription: 'Active channels',
    httpMethod: 'POST',
    nickname: 'originate',
    summary: 'Create a new channel (originate).',
    responseClass: 'Channel',
    parameters: [
      q('endpoint', 'Endpoint to call.', { required: true }),
      ...originateTail,
      q('channelId', 'The unique id to assign the channel on creation.'),
      ...originateAfterId,
    ],
    errorResponses: [
      { code: 400, reason: 'Invalid parameters for originating a channel.' },
      { code: 409, reason: 'Channel with given unique ID already exists.' },
    ],
  },
  {
    id: 'channels.externalMedia',
    resource: 'channels',
    path: '/channels/externalMedia',
    pathDescription: 'Create a channel to an External Media source/sink.',
    httpMethod: 'POST',
    nickname: 'externalMedia',
    summary: 'Start an External Media session.',
    responseClass: 'Channel',
    parameters: [
      q('channelId', 'The unique id to assign the channel on creation.'),
      q('app', 'Stasis Application to place channel into', { required: true }),
      variablesBody('The "variables" key in the body object holds variable key/value pairs to set on the channel on creation. Other keys in the body object are interpreted as query parameters. Ex. { "endpoint": "SIP/Alice", "variables": { "CALLERID(name)": "Alice" } }'),
      q('external_host', 'Hostname/ip:port or websocket_client connection ID of external host. May be empty for a websocket server connection.'),
      q('encapsulation', 'Payload encapsulation protocol. Must be \'none\' for the websocket transport.', { defaultValue: 'rtp', allowableValues: ['rtp', 'audiosocket', 'none'] }),
      q('transport', 'Transport protocol', { defaultValue: 'udp', allowableValues: ['udp', 'tcp', 'websocket'] }),
      q('connection_type', "Connection type (client/server). 'server' is only valid for the websocket transport.", { defaultValue: 'client', allowableValues: ['client', 'server'] }),
      q('format', 'Format to encode audio in', { required: true }),
      q('direction', 'External media direction', { defaultValue: 'both', allowableValues: ['both'] }),
      q('data', "An arbitrary data field. For the 'audiosocket' encapsulation this must be a UUID."),
      q('transport_data', "Transport-specific data. For websocket this is appended to the dialstring."),
    ],
    errorResponses: [
      { code: 400, reason: 'Invalid parameters' },
      { code: 409, reason: 'Channel is not in a Stasis application; Channel is already bridged' },
    ],
  },
  {
    id: 'channels.get',
    resource: 'channels',
    path: '/channels/{channelId}',
    pathDescription: 'Active channel',
    httpMethod: 'GET',
    nickname: 'get',
    summary: 'Channel details.',
    responseClass: 'Channel',
    parameters: [p('channelId', "Channel's id")],
    errorResponses: [{ code: 404, reason: 'Channel not found' }],
  },
  {
    id: 'channels.originateWithId',
    resource: 'channels',
    path: '/channels/{channelId}',
    pathDescription: 'Active channel',
    httpMethod: 'POST',
    nickname: 'originateWithId',
    summary: 'Create a new channel (originate with id).',
    responseClass: 'Channel',
    parameters: [
      p('channelId', 'The unique id to assign the channel on creation.'),
      q('endpoint', 'Endpoint to call.', { required: true }),
      ...originateTail,
      ...originateAfterId,
    ],
    errorResponses: [
      { code: 400, reason: 'Invalid parameters for originating a channel.' },
      { code: 409, reason: 'Channel with given unique ID already exists.' },
    ],
  },
  {
    id: 'channels.hangup',
    resource: 'channels',
    path: '/channels/{channelId}',
    pathDescription: 'Active channel',
    httpMethod: 'DELETE',
    nickname: 'hangup',
    summary: 'Delete (i.e. hangup) a channel.',
    responseClass: 'void',
    parameters: [
      p('channelId', "Channel's id"),
      q('reason_code', 'The reason code for hanging up the channel for detail use. Mutually exclusive with \'reason\'. See detail hangup codes at here. https://docs.asterisk.org/Configuration/Miscellaneous/Hangup-Cause-Mappings/'),
      q('reason', "Reason for hanging up the channel for simple use. Mutually exclusive with 'reason_code'.", { allowableValues: HANGUP_REASONS }),
    ],
    errorResponses: [
      { code: 400, reason: 'Invalid reason for hangup provided' },
      { code: 404, reason: 'Channel not found' },
    ],
  },
  {
    id: 'channels.answer',
    resource: 'channels',
    path: '/channels/{channelId}/answer',
    pathDescription: 'Answer a channel',
    httpMethod: 'POST',
    nickname: 'answer',
    summary: 'Answer a channel.',
    responseClass: 'void',
    parameters: [p('channelId', "Channel's id")],
    errorResponses: [
      { code: 404, reason: 'Channel not found' },
      { code: 409, reason: 'Channel not in a Stasis application' },
      { code: 412, reason: 'Channel in invalid state' },
    ],
  },
  {
    id: 'channels.mute',
    resource: 'channels',
    path: '/channels/{channelId}/mute',
    pathDescription: 'Mute a channel',
    httpMethod: 'POST',
    nickname: 'mute',
    summary: 'Mute a channel.',
    responseClass: 'void',
    parameters: [
      p('channelId', "Channel's id"),
      q('direction', 'Direction in which to mute audio', { defaultValue: 'both', allowableValues: DIRECTIONS }),
    ],
    errorResponses: [
      { code: 404, reason: 'Channel not found' },
      { code: 409, reason: 'Channel not in a Stasis application' },
      { code: 412, reason: 'Channel in invalid state' },
    ],
  },
  {
    id: 'channels.unmute',
    resource: 'channels',
    path: '/channels/{channelId}/mute',
    pathDescription: 'Mute a channel',
    httpMethod: 'DELETE',
    nickname: 'unmute',
    summary: 'Unmute a channel.',
    responseClass: 'void',
    parameters: [
      p('channelId', "Channel's id"),
      q('direction', 'Direction in which to unmute audio', { defaultValue: 'both', allowableValues: DIRECTIONS }),
    ],
    errorResponses: [
      { code: 404, reason: 'Channel not found' },
      { code: 409, reason: 'Channel not in a Stasis application' },
      { code: 412, reason: 'Channel in invalid state' },
    ],
  },
  {
    id: 'channels.getChannelVar',
    resource: 'channels',
    path: '/channels/{channelId}/variable',
    pathDescription: 'Variables on a channel',
    httpMethod: 'GET',
    nickname: 'getChannelVar',
    summary: 'Get the value of a channel variable or function.',
    responseClass: 'Variable',
    parameters: [p('channelId', "Channel's id"), q('variable', 'The channel variable or function to get', { required: true })],
    errorResponses: [
      { code: 400, reason: 'Missing variable parameter.' },
      { code: 404, reason: 'Channel or variable not found' },
      { code: 409, reason: 'Channel not in a Stasis application' },
    ],
  },
  {
    id: 'channels.setChannelVar',
    resource: 'channels',
    path: '/channels/{channelId}/variable',
    pathDescription: 'Variables on a channel',
    httpMethod: 'POST',
    nickname: 'setChannelVar',
    summary: 'Set the value of a channel variable or function.',
    responseClass: 'void',
    parameters: [
      p('channelId', "Channel's id"),
      q('variable', 'The channel variable or function to set', { required: true }),
      q('value', 'The value to set the variable to'),
      q('report_events', 'Report the ChannelVarset event even if the channel is not subscribed to the app.', { dataType: 'boolean', defaultValue: false }),
    ],
    errorResponses: [
      { code: 400, reason: 'Missing variable parameter.' },
      { code: 404, reason: 'Channel not found' },
      { code: 409, reason: 'Channel not in a Stasis application' },
    ],
  },
  {
    id: 'bridges.list',
    resource: 'bridges',
    path: '/bridges',
    pathDescription: 'Active bridges',
    httpMethod: 'GET',
    nickname: 'list',
    summary: 'List all active bridges in Asterisk.',
    responseClass: 'List[Bridge]',
    parameters: [],
    errorResponses: [],
  },
  {
    id: 'bridges.create',
    resource: 'bridges',
    path: '/bridges',
    pathDescription: 'Active bridges',
    httpMethod: 'POST',
    nickname: 'create',
    summary: 'Create a new bridge.',
    responseClass: 'Bridge',
    parameters: [
      q('type', 'Comma separated list of bridge type attributes (mixing, holding, dtmf_events, proxy_media, video_sfu, video_single, sdp_label).'),
      q('bridgeId', 'Unique ID to give to the bridge being created.'),
      q('name', 'Name to give to the bridge being created.'),
      variablesBody('The "variables" key in the body object holds variable key/value pairs to set on the bridge on creation.'),
    ],
    errorResponses: [{ code: 409, reason: 'Bridge with the same bridgeId already exists' }],
  },
  {
    id: 'bridges.createWithId',
    resource: 'bridges',
    path: '/bridges/{bridgeId}',
    pathDescription: 'Individual bridge',
    httpMethod: 'POST',
    nickname: 'createWithId',
    summary: 'Create a new bridge.',
    responseClass: 'Bridge',
    parameters: [
      q('type', 'Comma separated list of bridge type attributes (mixing, holding, dtmf_events, proxy_media, video_sfu, video_single, sdp_label) to set.'),
      p('bridgeId', 'Unique ID to give to the bridge being created.'),
      q('name', 'Set the name of the bridge.'),
      variablesBody('The "variables" key in the body object holds variable key/value pairs to set on the bridge on creation.'),
    ],
    errorResponses: [{ code: 409, reason: 'Bridge with the same bridgeId already exists' }],
  },
  {
    id: 'bridges.get',
    resource: 'bridges',
    path: '/bridges/{bridgeId}',
    pathDescription: 'Individual bridge',
    httpMethod: 'GET',
    nickname: 'get',
    summary: 'Get bridge details.',
    responseClass: 'Bridge',
    parameters: [p('bridgeId', "Bridge's id")],
    errorResponses: [{ code: 404, reason: 'Bridge not found' }],
  },
  {
    id: 'bridges.destroy',
    resource: 'bridges',
    path: '/bridges/{bridgeId}',
    pathDescription: 'Individual bridge',
    httpMethod: 'DELETE',
    nickname: 'destroy',
    summary: 'Shut down a bridge.',
    responseClass: 'void',
    parameters: [p('bridgeId', "Bridge's id")],
    errorResponses: [{ code: 404, reason: 'Bridge not found' }],
  },
  {
    id: 'bridges.addChannel',
    resource: 'bridges',
    path: '/bridges/{bridgeId}/addChannel',
    pathDescription: 'Add a channel to a bridge',
    httpMethod: 'POST',
    nickname: 'addChannel',
    summary: 'Add a channel to a bridge.',
    responseClass: 'void',
    parameters: [
      p('bridgeId', "Bridge's id"),
      q('channel', 'Ids of channels to add to bridge', { required: true, allowMultiple: true }),
      q('role', 'Channel\'s role in the bridge'),
      q('absorbDTMF', 'Absorb DTMF coming from this channel, preventing it to pass through to the bridge', { dataType: 'boolean', defaultValue: false }),
      q('mute', 'Mute audio from this channel, preventing it to pass through to the bridge', { dataType: 'boolean', defaultValue: false }),
      q('inhibitConnectedLineUpdates', 'Do not present the identity of the newly connected channel to other bridge members', { dataType: 'boolean', defaultValue: false }),
    ],
    errorResponses: [
      { code: 400, reason: 'Channel not found' },
      { code: 404, reason: 'Bridge not found' },
      { code: 409, reason: 'Bridge not in Stasis application; Channel currently recording' },
      { code: 422, reason: 'Channel not in Stasis application' },
    ],
  },
  {
    id: 'bridges.removeChannel',
    resource: 'bridges',
    path: '/bridges/{bridgeId}/removeChannel',
    pathDescription: 'Remove a channel from a bridge',
    httpMethod: 'POST',
    nickname: 'removeChannel',
    summary: 'Remove a channel from a bridge.',
    responseClass: 'void',
    parameters: [p('bridgeId', "Bridge's id"), q('channel', 'Ids of channels to remove from bridge', { required: true, allowMultiple: true })],
    errorResponses: [
      { code: 400, reason: 'Channel not found' },
      { code: 404, reason: 'Bridge not found' },
      { code: 409, reason: 'Bridge not in Stasis application' },
      { code: 422, reason: 'Channel not in this bridge' },
    ],
  },
  {
    id: 'applications.list',
    resource: 'applications',
    path: '/applications',
    pathDescription: 'Stasis applications',
    httpMethod: 'GET',
    nickname: 'list',
    summary: 'List all applications.',
    responseClass: 'List[Application]',
    parameters: [],
    errorResponses: [],
  },
  {
    id: 'applications.get',
    resource: 'applications',
    path: '/applications/{applicationName}',
    pathDescription: 'Stasis application',
    httpMethod: 'GET',
    nickname: 'get',
    summary: 'Get details of an application.',
    responseClass: 'Application',
    parameters: [p('applicationName', "Application's name")],
    errorResponses: [{ code: 404, reason: 'Application does not exist.' }],
  },
  {
    id: 'events.eventWebsocket',
    resource: 'events',
    path: '/events',
    pathDescription: 'Events from Asterisk to applications',
    httpMethod: 'GET',
    nickname: 'eventWebsocket',
    summary: 'WebSocket connection for events.',
    responseClass: 'Message',
    upgrade: 'websocket',
    parameters: [
      q('app', 'Applications to subscribe to.', { required: true, allowMultiple: true }),
      q('subscribeAll', "Subscribe to all Asterisk events. If provided, the applications listed will be subscribed to all events, effectively disabling the application specific subscriptions. Default is 'false'.", { dataType: 'boolean' }),
    ],
    errorResponses: [],
  },
];

// ---------------------------------------------------------------------------
// Models: only the fields the simulator emits, typed as Asterisk types them.

interface ModelProperty {
  readonly type: string;
  readonly required: boolean;
}
type ModelTable = Readonly<Record<string, Readonly<Record<string, ModelProperty>>>>;

const req = (type: string): ModelProperty => ({ type, required: true });
const opt = (type: string): ModelProperty => ({ type, required: false });

const channelModels: ModelTable = {
  CallerID: { name: req('string'), number: req('string') },
  DialplanCEP: { context: req('string'), exten: req('string'), priority: req('long'), app_name: req('string'), app_data: req('string') },
  Channel: {
    id: req('string'),
    protocol_id: req('string'),
    name: req('string'),
    state: req('string'),
    caller: req('CallerID'),
    connected: req('CallerID'),
    accountcode: req('string'),
    dialplan: req('DialplanCEP'),
    creationtime: req('Date'),
    language: req('string'),
    channelvars: opt('object'),
  },
};
const bridgeModels: ModelTable = {
  Bridge: {
    id: req('string'),
    technology: req('string'),
    bridge_type: req('string'),
    bridge_class: req('string'),
    creator: req('string'),
    name: req('string'),
    channels: req('List[string]'),
    video_mode: opt('string'),
    creationtime: req('Date'),
  },
};
const eventModels: ModelTable = {
  Message: { type: req('string'), asterisk_id: opt('string') },
  Event: { application: req('string'), timestamp: req('Date') },
  ApplicationReplaced: {},
  BridgeDestroyed: { bridge: req('Bridge') },
  ChannelDestroyed: { cause: req('int'), cause_txt: req('string'), tech_cause: opt('int'), channel: req('Channel') },
  ChannelEnteredBridge: { bridge: req('Bridge'), channel: opt('Channel') },
  ChannelLeftBridge: { bridge: req('Bridge'), channel: req('Channel') },
  ChannelStateChange: { channel: req('Channel') },
  ChannelHangupRequest: { cause: opt('int'), tech_cause: opt('int'), soft: opt('boolean'), channel: req('Channel') },
  ChannelVarset: { variable: req('string'), value: req('string'), channel: opt('Channel') },
  ChannelConnectedLine: { channel: req('Channel') },
  Dial: {
    caller: opt('Channel'),
    peer: req('Channel'),
    forward: opt('string'),
    forwarded: opt('Channel'),
    dialstring: opt('string'),
    dialstatus: req('string'),
  },
  StasisEnd: { channel: req('Channel') },
  StasisStart: { args: req('List[string]'), channel: req('Channel'), replace_channel: opt('Channel') },
};
const modelsByResource: Readonly<Record<ResourceName, ModelTable>> = {
  asterisk: { Variable: { value: req('string') }, AsteriskInfo: { build: opt('object'), system: opt('object'), config: opt('object'), status: opt('object') } },
  channels: channelModels,
  bridges: bridgeModels,
  applications: {
    Application: {
      name: req('string'),
      channel_ids: req('List[string]'),
      bridge_ids: req('List[string]'),
      endpoint_ids: req('List[string]'),
      device_names: req('List[string]'),
      events_allowed: req('List[object]'),
      events_disallowed: req('List[object]'),
    },
  },
  events: eventModels,
};

/** The event types the simulator may send: each needs a model, or ari-client throws on receipt. */
export const describedEventTypes: readonly string[] = Object.keys(eventModels).filter((k) => k !== 'Message' && k !== 'Event');

const resourceDescriptions: Readonly<Record<ResourceName, string>> = {
  asterisk: 'Asterisk resources',
  channels: 'Channel resources',
  bridges: 'Bridge resources',
  events: 'WebSocket resource',
  applications: 'Stasis application resources',
};
export const resourceNames: readonly ResourceName[] = ['asterisk', 'channels', 'bridges', 'events', 'applications'];

export function isResourceName(name: string): name is ResourceName {
  return (resourceNames as readonly string[]).includes(name);
}

/** `/ari/api-docs/resources.json`; `basePath` is `http://<host>/ari` like Asterisk's (it rewrites it from Host). */
export function resourceListing(basePath: string): object {
  return {
    apiVersion: '10.0.0',
    swaggerVersion: '1.1',
    basePath,
    apis: resourceNames.map((name) => ({ path: `/api-docs/${name}.{format}`, description: resourceDescriptions[name] })),
  };
}

function paramJson(param: ParamSpec): object {
  return {
    name: param.name,
    description: param.description,
    paramType: param.paramType,
    required: param.required,
    allowMultiple: param.allowMultiple,
    dataType: param.dataType,
    ...(param.defaultValue !== undefined ? { defaultValue: param.defaultValue } : {}),
    ...(param.allowableValues !== undefined
      ? { allowableValues: { valueType: 'LIST', values: [...param.allowableValues] } }
      : {}),
  };
}

function modelJson(id: string, props: Readonly<Record<string, ModelProperty>>): object {
  return {
    id,
    properties: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, { type: v.type, required: v.required }])),
  };
}

/** `/ari/api-docs/{resource}.json`: an API declaration with our operations grouped by path. */
export function apiDeclaration(resource: ResourceName, basePath: string): object {
  const byPath = new Map<string, OperationSpec[]>();
  for (const op of operations) {
    if (op.resource !== resource) continue;
    const list = byPath.get(op.path) ?? [];
    list.push(op);
    byPath.set(op.path, list);
  }
  const models = modelsByResource[resource];
  return {
    apiVersion: '2.0.0',
    swaggerVersion: '1.1',
    basePath,
    resourcePath: `/api-docs/${resource}.{format}`,
    apis: [...byPath.entries()].map(([path, ops]) => ({
      path,
      description: ops[0]?.pathDescription ?? '',
      operations: ops.map((op) => ({
        httpMethod: op.httpMethod,
        summary: op.summary,
        nickname: op.nickname,
        responseClass: op.responseClass,
        ...(op.upgrade ? { upgrade: op.upgrade, websocketProtocol: 'ari' } : {}),
        parameters: op.parameters.map(paramJson),
        ...(op.errorResponses.length > 0 ? { errorResponses: op.errorResponses.map((e) => ({ ...e })) } : {}),
      })),
    })),
    models: Object.fromEntries(Object.entries(models).map(([id, props]) => [id, modelJson(id, props)])),
  };
}

/** A path template compiled for matching: literal segments and `{name}` captures. */
export interface CompiledPath {
  readonly template: string;
  readonly segments: readonly ({ readonly literal: string } | { readonly param: string })[];
}

export function compilePath(template: string): CompiledPath {
  const segments = template
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => {
      const m = /^\{(\w+)\}$/.exec(s);
      return m?.[1] !== undefined ? { param: m[1] } : { literal: s };
    });
  return { template, segments };
}

/** Matches `/channels/abc/answer` against a compiled template; returns path params or null. */
export function matchPath(compiled: CompiledPath, pathSegments: readonly string[]): Record<string, string> | null {
  if (compiled.segments.length !== pathSegments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pathSegments.length; i++) {
    const seg = compiled.segments[i];
    const actual = pathSegments[i];
    if (seg === undefined || actual === undefined) return null;
    if ('literal' in seg) {
      if (seg.literal !== actual) return null;
    } else {
      params[seg.param] = actual;
    }
  }
  return params;
}
