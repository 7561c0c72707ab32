/** Interface text: Chinese (default) and English. Messages the hub returns are shown as the hub words them. */
import { createI18n } from 'vue-i18n';

const zh = {
  app: { title: '一网共享 · 管理控制台', language: '语言', logout: '退出登录', loggedInAs: '当前用户', skip: '跳到主要内容', nav: '导航' },
  role: { officer: '数据专员', auditor: '审计员', admin: '平台管理员' },
  login: {
    title: '登录', token: '访问令牌', tokenHelp: '输入本角色的令牌（平台运营方签发）。令牌只用于建立会话，不保存在浏览器中。',
    submit: '登录', demo: '演示：一键登录', demoAs: '以{role}身份登录', failed: '登录失败',
  },
  page: {
    pending: '待审申请', grants: '授权', catalogue: '目录与数据质量', corrections: '数据纠错', demands: '需求清单',
    trail: '审计检索', verify: '校验审计链', anomalies: '异常提示', stats: '访问统计',
    tokens: '令牌', escalations: '协调申请', directory: '部门与事项',
  },
  common: {
    actions: '操作', reason: '理由', cancel: '取消', confirm: '确定', refresh: '刷新', search: '检索', more: '加载更多', none: '暂无数据',
    status: '状态', resource: '资源', consumer: '使用部门', provider: '提供部门', items: '信息项', purposes: '事项', systems: '系统',
    validFrom: '生效日期', validUntil: '截止日期', history: '历史', details: '详情', done: '已完成', reasonRequired: '请填写理由',
    id: '编号', at: '时间', actor: '操作人', total: '共 {n} 条', day: '日期', count: '次数', department: '部门', decision: '结果', name: '名称',
    code: '代码', from: '起', to: '止',
  },
  pending: {
    deadline: '答复期限', submittedAt: '提交时间', overdue: '已逾期', approve: '批准', reject: '驳回', approveTitle: '批准申请 {id}',
    rejectTitle: '驳回申请 {id}', include: '授予', access: '方式', consent: '需单独同意', perDay: '每日上限（主体数）', maxBatch: '单次批量上限',
    verifyPerDay: '每日核验次数', approved: '已批准，授权即时生效', rejected: '已驳回', applied: '申请理由', nothing: '没有待审申请',
  },
  access: { clear: '明文', masked: '脱敏', verify: '仅核验' },
  grants: { suspend: '暂停', resume: '恢复', revoke: '撤销', state: '生效状态', quota: '额度', usedToday: '今日已用', changed: '已更新', confirmRevoke: '撤销不可恢复。' },
  catalogue: { quality: '质量报告', validity: '有效率', records: '记录数', invalid: '无效值', freshness: '时效', openCorrections: '未处理纠错', level: '共享类型' },
  corrections: { item: '信息项', note: '说明', deadline: '答复期限', answer: '答复', corrected: '已更正', reject: '不予更正', requester: '申请方' },
  demands: {
    title: '需求', description: '描述', answer: '答复', file: '提交需求', fileHelp: '目录中没有满足本部门办事所需的数据时，提交需求清单，由平台管理员分派给提供部门。',
    purposesHelp: '按住 Ctrl 或 ⌘ 多选', filed: '需求 {id} 已提交', assign: '分派', answerAction: '答复需求', resource: '对应的目录资源（可选）',
    status: { open: '待分派', assigned: '已分派', answered: '已答复' },
  },
  trail: {
    filters: '检索条件', idNumber: '公民身份号码', idHelp: '按数据主体检索：号码在服务端做带密钥哈希，不保存、不记日志。', creditCode: '统一社会信用代码',
    system: '系统', operator: '经办人', purpose: '事项', caseId: '办件编号', codeFilter: '拒绝代码', kind: '类型', access: '访问记录', admin: '管理操作',
    open: '查看', results: '检索结果', export: '导出', exportJsonl: '导出 JSONL', exportCsv: '导出 CSV', subjectSearched: '数据主体 {id}',
    returned: '返回', masked: '脱敏', refused: '拒绝', verified: '核验', grants: '授权版本', proof: '包含证明', proofOk: '包含证明已验证：记录在签名检查点内',
    proofBad: '包含证明不成立', proofNone: '尚无检查点覆盖此记录', checkpoint: '检查点', treeSize: '树大小', index: '序号', leafHash: '叶哈希', record: '记录',
  },
  verify: { run: '校验审计链', ok: '审计链完整', broken: '审计链有问题', log: '日志', records: '记录数', checkpoints: '检查点', verifiedSize: '已验证', uncheckpointed: '未入检查点', problems: '问题', where: '位置', archived: '已归档' },
  anomalies: { kind: '类型', records: '相关记录', threshold: '阈值', open: '查看记录', recordsOf: '共 {n} 条记录。', firstOnly: '这里列出最早的 {n} 条；其余请在审计检索中按系统和日期查找。' },
  stats: { by: '分组', show: '统计', perDay: '每日访问' },
  tokens: {
    issue: '签发令牌', role: '角色', principal: '主体', label: '备注', created: '签发时间', revoked: '已撤销', revoke: '撤销', issued: '新令牌（只显示这一次，请立即保存）',
    system: '系统代码', department: '部门代码', copyHint: '关闭后无法再次查看。', lifetime: '有效天数', lifetimeHelp: '留空：撤销前一直有效', noExpiry: '长期有效',
    expires: '到期时间', expired: '已过期', rotate: '轮换', rotateTitle: '轮换令牌 {id}', overlap: '旧令牌继续有效（小时）',
    rotateHelp: '签发同一主体的新令牌；旧令牌在重叠期内继续有效，之后过期，系统切换无需停机。',
  },
  escalations: {
    resolve: '裁定', uphold: '维持驳回', direct: '责令提供', escalation: '协调理由', nothing: '没有待协调申请', directTitle: '责令提供 {id}：授权条件',
    directReason: '协调结论（理由）',
  },
  directory: {
    departments: '部门', purposes: '政务服务事项', legalBasis: '法律依据', systems: '已登记系统', peerHub: '跨域枢纽', certificates: '绑定证书（SHA-256 指纹）',
    noCertificates: '未绑定证书（令牌或 JWT 认证）',
  },
};

const en: typeof zh = {
  app: { title: '一网共享 · Hub console', language: 'Language', logout: 'Log out', loggedInAs: 'Logged in as', skip: 'Skip to main content', nav: 'Navigation' },
  role: { officer: 'Data officer', auditor: 'Auditor', admin: 'Platform operator' },
  login: {
    title: 'Log in', token: 'Access token', tokenHelp: "Enter your role's token (issued by the platform operator). It only opens a session; the browser does not keep it.",
    submit: 'Log in', demo: 'Demo: one-click log-in', demoAs: 'Log in as {role}', failed: 'Log-in failed',
  },
  page: {
    pending: 'Pending applications', grants: 'Grants', catalogue: 'Catalogue & quality', corrections: 'Corrections', demands: 'Data demands',
    trail: 'Search the trail', verify: 'Verify the trail', anomalies: 'Anomalies', stats: 'Access statistics',
    tokens: 'Tokens', escalations: 'Escalations', directory: 'Departments & purposes',
  },
  common: {
    actions: 'Actions', reason: 'Reason', cancel: 'Cancel', confirm: 'Confirm', refresh: 'Refresh', search: 'Search', more: 'Load more', none: 'No data',
    status: 'Status', resource: 'Resource', consumer: 'Consumer', provider: 'Provider', items: 'Items', purposes: 'Purposes', systems: 'Systems',
    validFrom: 'Valid from', validUntil: 'Valid until', history: 'History', details: 'Details', done: 'Done', reasonRequired: 'A reason is required',
    id: 'ID', at: 'Time', actor: 'Actor', total: '{n} in all', day: 'Day', count: 'Count', department: 'Department', decision: 'Decision', name: 'Name',
    code: 'Code', from: 'From', to: 'To',
  },
  pending: {
    deadline: 'Deadline', submittedAt: 'Submitted', overdue: 'Overdue', approve: 'Approve', reject: 'Reject', approveTitle: 'Approve application {id}',
    rejectTitle: 'Reject application {id}', include: 'Grant', access: 'Access', consent: 'Separate consent', perDay: 'Subjects per day', maxBatch: 'Max batch',
    verifyPerDay: 'Verifications per day', approved: 'Approved: the grant is in force now', rejected: 'Rejected', applied: 'Reason given', nothing: 'No pending applications',
  },
  access: { clear: 'Clear', masked: 'Masked', verify: 'Verify only' },
  grants: { suspend: 'Suspend', resume: 'Resume', revoke: 'Revoke', state: 'State', quota: 'Quota', usedToday: 'Used today', changed: 'Updated', confirmRevoke: 'A revocation cannot be undone.' },
  catalogue: { quality: 'Quality report', validity: 'Validity', records: 'Records', invalid: 'Invalid values', freshness: 'Freshness', openCorrections: 'Open corrections', level: 'Sharing' },
  corrections: { item: 'Item', note: 'Note', deadline: 'Deadline', answer: 'Answer', corrected: 'Corrected', reject: 'Value stands', requester: 'Requester' },
  demands: {
    title: 'Demand', description: 'Description', answer: 'Answer', file: 'File a demand', fileHelp: "When no catalogued resource has what your department's services need, file a demand; the platform operator assigns it to a provider.",
    purposesHelp: 'Ctrl or ⌘ to choose several', filed: 'Demand {id} filed', assign: 'Assign', answerAction: 'Answer', resource: 'Catalogued resource that meets it (optional)',
    status: { open: 'Open', assigned: 'Assigned', answered: 'Answered' },
  },
  trail: {
    filters: 'Filters', idNumber: 'Citizen ID number', idHelp: 'Search by data subject: the hub hashes the number with its key; it is neither stored nor logged.', creditCode: 'Credit code',
    system: 'System', operator: 'Operator', purpose: 'Purpose', caseId: 'Case number', codeFilter: 'Refusal code', kind: 'Kind', access: 'Access records', admin: 'Admin changes',
    open: 'Open', results: 'Results', export: 'Export', exportJsonl: 'Export JSONL', exportCsv: 'Export CSV', subjectSearched: 'Data subject {id}',
    returned: 'Returned', masked: 'Masked', refused: 'Refused', verified: 'Verified', grants: 'Grant versions', proof: 'Inclusion proof', proofOk: 'Inclusion proof verified: the record is in a signed checkpoint',
    proofBad: 'The inclusion proof does not hold', proofNone: 'No checkpoint covers this record yet', checkpoint: 'Checkpoint', treeSize: 'Tree size', index: 'Index', leafHash: 'Leaf hash', record: 'Record',
  },
  verify: { run: 'Verify the trail', ok: 'The trail is intact', broken: 'The trail has problems', log: 'Log', records: 'Records', checkpoints: 'Checkpoints', verifiedSize: 'Verified', uncheckpointed: 'Not yet checkpointed', problems: 'Problems', where: 'Where', archived: 'Archived' },
  anomalies: { kind: 'Kind', records: 'Records', threshold: 'Threshold', open: 'Open records', recordsOf: '{n} records in all.', firstOnly: 'The earliest {n} are listed here; find the rest in the trail search by system and day.' },
  stats: { by: 'Group by', show: 'Show', perDay: 'Accesses per day' },
  tokens: {
    issue: 'Issue a token', role: 'Role', principal: 'Principal', label: 'Label', created: 'Issued', revoked: 'Revoked', revoke: 'Revoke', issued: 'New token (shown only once: store it now)',
    system: 'System code', department: 'Department code', copyHint: 'It cannot be shown again after you close this.', lifetime: 'Lifetime (days)', lifetimeHelp: 'Empty: until revoked', noExpiry: 'No expiry',
    expires: 'Expires', expired: 'Expired', rotate: 'Rotate', rotateTitle: 'Rotate token {id}', overlap: 'Old token keeps working (hours)',
    rotateHelp: 'Issues a successor for the same principal; the old token keeps working for the overlap, then expires: no downtime for the system.',
  },
  escalations: {
    resolve: 'Settle', uphold: 'Uphold the refusal', direct: 'Direct a grant', escalation: 'Escalation reason', nothing: 'No escalated applications', directTitle: 'Direct a grant for {id}: terms',
    directReason: 'Coordination decision (reason)',
  },
  directory: {
    departments: 'Departments', purposes: 'Purposes (service items)', legalBasis: 'Legal basis', systems: 'Registered systems', peerHub: 'Peer hub', certificates: 'Bound certificates (SHA-256 fingerprints)',
    noCertificates: 'No certificate bound (token or JWT)',
  },
};

const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('ywgx-console-locale') : null;

export const i18n = createI18n({ legacy: false, locale: saved === 'en' ? 'en' : 'zh-CN', fallbackLocale: 'zh-CN', messages: { 'zh-CN': zh, en } });

export function setLocale(locale: 'zh-CN' | 'en'): void {
  i18n.global.locale.value = locale;
  localStorage.setItem('ywgx-console-locale', locale);
  document.documentElement.lang = locale;
}
