import type { ActorRef } from '../domain/access/actor.js';

export const toMs = (d: Date): number => d.getTime();
export const toMsOrNull = (d: Date | null | undefined): number | null => (d ? d.getTime() : null);
export const fromMs = (ms: number | string): Date => new Date(Number(ms));
export const fromMsOrNull = (ms: number | string | null): Date | null => (ms === null ? null : new Date(Number(ms)));

export const actorToText = (a: ActorRef): string => JSON.stringify(a);
export const actorFromText = (text: string): ActorRef => JSON.parse(text) as ActorRef;
export const actorFromTextOrNull = (text: string | null): ActorRef | null => (text === null ? null : actorFromText(text));
