// Public surface of the members projection: the cluster's members as the log says, the conf change
// context that names a member, and the membership change a conf change entry stands for.
export type { ConfChangeContext, Member, MemberAttributes, MemberCommand, MemberResult, MembersState } from "./members.ts";
export { confChangeContextOk, encodeConfChangeContext, membershipChangeOf, membersProjection } from "./members.ts";
