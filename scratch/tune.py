import numpy as np, qa, sys
from qa.evaluation import read_tsv_questions
from qa.chunking import search_key
from qa.lexical import KeywordIndex
from qa.search import min_max
from pathlib import Path
idx = qa.Index.load('/tmp/qi')
c = idx._contents
qs = read_tsv_questions(Path('/work/shared/eval/leping-dev.tsv'))
n = len(c.passages)
ans = [[i for i,p in enumerate(c.passages) if search_key(q.answer) in search_key(p.text)] for q in qs]
assert all(len(a)>=1 for a in ans), [q.answer for q,a in zip(qs,ans) if not a]
Q = idx.encoder.encode_queries([q.question for q in qs])
P = c.paragraph_vectors.reconstruct_n(0, n)
W = c.window_vectors.reconstruct_n(0, c.window_vectors.ntotal)
para = Q @ P.T
win = Q @ W.T
best = np.full((len(qs), n), -1.0)
for j,(row,f,e) in enumerate(c.windows):
    best[:, row] = np.maximum(best[:, row], win[:, j])
has = best[0] > -1
bestwin = np.where(has, best, para)
maxboth = np.maximum(para, best)
mix = np.where(has, 0.5*para+0.5*best, para)
kws = {t: KeywordIndex.build([p.text for p in c.passages], t) for t in ('bigram','jieba')}
K = {t: np.array([k.scores(q.question) for q in qs]) for t,k in kws.items()}
K['both'] = np.array([min_max(a)+min_max(b) for a,b in zip(K['bigram'],K['jieba'])])
def report(name, S):
    out=[]
    for kind in ('keyword','paraphrase'):
        rs=[]
        for i,q in enumerate(qs):
            if q.kind!=kind: continue
            order=np.argsort(-S[i], kind='stable')
            r=next((j+1 for j,x in enumerate(order[:10]) if x in ans[i]), None)
            rs.append(r)
        m=len(rs)
        out.append(f"{kind[:4]} R1 {sum(1 for r in rs if r==1)/m:.3f} R5 {sum(1 for r in rs if r and r<=5)/m:.3f} MRR {sum(1/r for r in rs if r)/m:.3f}")
    print(f"{name:32s}", ' | '.join(out))
for dn, D in [('para',para),('bestwin',bestwin),('max',maxboth),('mix',mix)]:
    report('dense '+dn, D)
for t in K: report('bm25 '+t, K[t])
for dn, D in [('bestwin',bestwin),('max',maxboth),('mix',mix)]:
    for t in K:
        for w in (0.2,0.3,0.4,0.5):
            S=np.array([w*min_max(k)+(1-w)*min_max(d) for k,d in zip(K[t],D)])
            report(f'{dn}+{t} w{w}', S)
print('---- section-aware')
Ps = idx.encoder.encode_passages([(p.section_path + '\n' + p.text) if p.section else p.text for p in c.passages])
para2 = Q @ Ps.T
mix2 = np.where(has, 0.5*para2+0.5*best, para2)
kw2 = KeywordIndex.build([p.section_path + ' ' + p.text for p in c.passages], 'bigram')
K2 = np.array([kw2.scores(q.question) for q in qs])
report('dense mix2', mix2)
report('bm25 bigram+section', K2)
for dn, D in [('mix',mix),('mix2',mix2)]:
    for kn, KK in [('bigram',K['bigram']),('bigram+sec',K2)]:
        for w in (0.2,0.3):
            S=np.array([w*min_max(k)+(1-w)*min_max(d) for k,d in zip(KK,D)])
            report(f'{dn}+{kn} w{w}', S)
qq = idx.encoder.encode_queries(['2020年乐平市的地区生产总值是多少？'])[0]
kq = kw2.scores('2020年乐平市的地区生产总值是多少？'); kq0 = K and kws['bigram'].scores('2020年乐平市的地区生产总值是多少？')
bq = np.full(n,-1.0)
for j,(row,f,e) in enumerate(c.windows): bq[row]=max(bq[row], float(W[j]@qq))
for name, pv, kk in [('plain', P@qq, kq0), ('sec', Ps@qq, kq)]:
    d = np.where(bq>-1, 0.5*pv+0.5*bq, pv)
    s = 0.2*min_max(kk)+0.8*min_max(d)
    o = np.argsort(-s)[:3]
    print(name, [(int(i), c.passages[i].text[:20]) for i in o])
print('---- normalisations')
def z(a): 
    s=a.std(); return (a-a.mean())/s if s>1e-9 else a*0
def topmm(a, m=20):
    o=np.sort(a)[::-1]; lo=o[min(m,len(o)-1)]; hi=o[0]
    return np.clip((a-lo)/(hi-lo+1e-9),0,None)
qi = qs.index(next(q for q in qs if '2020年' in q.question)) if False else None
for nn, f in [('z',z),('top20mm',topmm)]:
    for w in (0.2,0.3,0.4,0.5):
        S=np.array([w*f(k)+(1-w)*f(d) for k,d in zip(K['bigram'],mix)])
        report(f'mix+bigram {nn} w{w}', S)
Kp = kws['bigram'].scores('2020年乐平市的地区生产总值是多少？')
bq = np.full(n,-1.0); qq = idx.encoder.encode_queries(['2020年乐平市的地区生产总值是多少？'])[0]
for j,(row,f_,e) in enumerate(c.windows): bq[row]=max(bq[row], float(W[j]@qq))
pv=P@qq; d=np.where(bq>-1, 0.5*pv+0.5*bq, pv)
for nn, f in [('mm',min_max),('z',z),('top20mm',topmm)]:
    for w in (0.2,0.3,0.4,0.5):
        s=w*f(Kp)+(1-w)*f(d); print(nn, w, int(np.argsort(-s)[0]), int((s>s[6]).sum())+1)
