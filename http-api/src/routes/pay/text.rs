//! The payment page's words in each language it speaks (English and Simplified Chinese), and
//! which one a request gets: `?lang=` (the page's switch) first, then `Accept-Language`.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    /// The `lang` attribute and `Content-Language` of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// The language of a tag, if the page speaks it (`zh`, `zh-CN`, `zh-Hans`, `en-US` …).
    fn of_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or("").trim();
        if primary.eq_ignore_ascii_case("zh") {
            Some(Lang::Zh)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// `?lang=` when it names a language the page speaks, else the best of `Accept-Language`
    /// by its q-values (ties: the first listed), else English.
    pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = query.and_then(Lang::of_tag) {
            return lang;
        }
        let Some(accept) = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::En;
        };
        let mut best: Option<(f32, Lang)> = None;
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::of_tag) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite() && *q > 0.0);
            if let Some(q) = q
                && best.is_none_or(|(b, _)| q > b)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }
}

/// The page's words. Fields in `script` are the ones the page's script needs as the order
/// changes; `{…}` in them is filled by the script.
pub struct Text {
    pub title: &'static str,
    pub heading: &'static str,
    /// Before the network's name: "on".
    pub on: &'static str,
    /// After it: what to send.
    pub send_exactly: &'static str,
    pub to_address: &'static str,
    pub scan: &'static str,
    pub token_contract: &'static str,
    pub only_counts: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub script: ScriptText,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptText {
    pub copy: &'static str,
    pub copied: &'static str,
    /// The status before the script has counted down (no `{left}`).
    pub awaiting: &'static str,
    pub waiting: &'static str,
    pub detected: &'static str,
    pub completed: &'static str,
    pub transaction: &'static str,
    pub expired: &'static str,
    pub late: &'static str,
    pub received_so_far: &'static str,
    pub returning: &'static str,
}

static EN: Text = Text {
    title: "Pay",
    heading: "Payment request",
    on: "on",
    send_exactly: "send exactly this amount, in one or more transfers",
    to_address: "To this address",
    scan: "Scan with your wallet",
    token_contract: "token contract",
    only_counts: "Only {currency} on {network} counts toward this payment. Other tokens or networks are not credited.",
    not_found_title: "Payment not found",
    not_found_body: "This payment link is not valid. Please go back to the shop.",
    script: ScriptText {
        copy: "Copy",
        copied: "Copied",
        awaiting: "Waiting for your payment.",
        waiting: "Waiting for your payment — {left} left.",
        detected: "Payment of {amount} {currency} detected — {n} of {m} confirmations.",
        completed: "Payment received. Thank you!",
        transaction: "Transaction",
        expired: "This payment request has expired.",
        late: "Time is up. A payment already sent is still being detected.",
        received_so_far: "Received so far: {received} of {amount} {currency}.",
        returning: "Returning to the shop…",
    },
};

static ZH: Text = Text {
    title: "支付",
    heading: "付款请求",
    on: "网络：",
    send_exactly: "请转入与此完全相同的金额，可分一笔或多笔转账",
    to_address: "收款地址",
    scan: "用钱包扫码",
    token_contract: "代币合约",
    only_counts: "只有 {network} 上的 {currency} 计入此笔付款，其他代币或网络的转账不会入账。",
    not_found_title: "未找到付款",
    not_found_body: "此付款链接无效，请返回商店。",
    script: ScriptText {
        copy: "复制",
        copied: "已复制",
        awaiting: "等待付款。",
        waiting: "等待付款 — 剩余 {left}。",
        detected: "已检测到 {amount} {currency} 的付款 — 确认数 {n} / {m}。",
        completed: "已收到付款，谢谢！",
        transaction: "交易",
        expired: "此付款请求已过期。",
        late: "时间已到。已发出的付款仍在检测中。",
        received_so_far: "已收到：{received} / {amount} {currency}。",
        returning: "正在返回商店…",
    },
};

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn accept_language_is_read_by_its_q_values() {
        for (header, lang) in [
            ("zh-CN,zh;q=0.9,en;q=0.8", Lang::Zh),
            ("en-US,en;q=0.9,zh-CN;q=0.8", Lang::En),
            ("fr-FR,fr;q=0.9,zh-Hans;q=0.5,en;q=0.4", Lang::Zh),
            ("en;q=0.2, zh-TW;q=0.7", Lang::Zh),
            ("fr, de", Lang::En),
            ("zh;q=0, en;q=0.1", Lang::En),
            ("zh;q=nonsense", Lang::En),
            ("", Lang::En),
        ] {
            assert_eq!(Lang::negotiate(None, &accept(header)), lang, "{header}");
        }
        assert_eq!(Lang::negotiate(None, &HeaderMap::new()), Lang::En);
    }

    #[test]
    fn the_switch_wins_over_the_header_when_it_names_a_language_the_page_speaks() {
        assert_eq!(Lang::negotiate(Some("en"), &accept("zh-CN")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh-CN"), &accept("en")), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("klingon"), &accept("zh")), Lang::Zh);
    }
}
