"""The upload page's HTML (:mod:`dvxl.web`): Jinja templates, escaped by default.

Plain HTML and one small style sheet, readable on a phone; no JavaScript at all.
"""

from __future__ import annotations

from typing import Any

from jinja2 import DictLoader, Environment, select_autoescape

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
 color:#1b1b1b;background:#f4f5f7}
header{background:#a50e0e;color:#fff;padding:.8rem 1rem}
header h1{font-size:1.15rem;margin:0}
header p{margin:.2rem 0 0;font-size:.9rem;opacity:.9}
main{max-width:60rem;margin:0 auto;padding:1rem}
.card{background:#fff;border-radius:.5rem;padding:1rem;margin:0 0 1rem;
 box-shadow:0 1px 2px rgba(0,0,0,.12)}
h2{font-size:1.1rem;margin:0 0 .6rem}
label{display:block;font-weight:600;margin:0 0 .4rem}
input[type=text],input[type=password]{width:100%;font-size:1.2rem;padding:.6rem;
 border:1px solid #999;border-radius:.4rem;letter-spacing:.08em;text-transform:uppercase}
input[type=file]{width:100%;font-size:1rem;padding:.5rem 0}
button,.button{display:inline-block;font-size:1.05rem;padding:.7rem 1.2rem;margin:.6rem 0 0;
 border:0;border-radius:.4rem;background:#a50e0e;color:#fff;text-decoration:none;
 cursor:pointer;min-height:2.8rem}
button.plain{background:#e4e4e7;color:#1b1b1b}
.state{font-size:1.2rem;font-weight:700;padding:.8rem 1rem;border-radius:.5rem;margin:0 0 1rem}
.ok{background:#e3f4e6;color:#14532d;border:1px solid #86c99a}
.warn{background:#fff4d6;color:#713f12;border:1px solid #e6c46b}
.bad{background:#fde4e4;color:#7f1d1d;border:1px solid #e59a9a}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{border:1px solid #d4d4d8;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f1f3}
td.num{text-align:right}
.muted{color:#555;font-size:.9rem}
@media (max-width:40rem){
 table.stack tr:first-child{display:none}
 table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
 table.stack tr{border:1px solid #d4d4d8;border-radius:.4rem;margin:0 0 .6rem;padding:.2rem 0}
 table.stack td{border:0;padding:.15rem .6rem;text-align:left}
 table.stack td::before{content:attr(data-label);display:block;font-size:.8rem;color:#555}
 table.stack td:empty{display:none}
}
"""

_BASE = """<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{% if refresh %}<meta http-equiv="refresh" content="{{ refresh }}">{% endif %}
<title>{{ title }} — dvxl</title>
<style>{{ style }}</style>
</head>
<body>
<header><h1>{{ title }}</h1>{% if subtitle %}<p>{{ subtitle }}</p>{% endif %}</header>
<main>
{% block main %}{% endblock %}
</main>
</body>
</html>
"""

_LOGOUT = """
<form method="post" action="/ra"><input type="hidden" name="csrf" value="{{ csrf }}">
<button class="plain" type="submit">Thoát (nhập mã khác)</button></form>
"""

_LOGIN = """{% extends "base" %}{% block main %}
<div class="card">
<h2>Nhập mã nộp báo cáo</h2>
<p>Mỗi đơn vị có một mã nộp báo cáo cho từng kỳ, ghi trong hướng dẫn văn phòng gửi kèm mẫu
báo cáo. Không có mã thì hỏi văn phòng.</p>
{% if problem %}<p class="state bad">{{ problem }}</p>{% endif %}
<form method="post" action="/vao">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label for="ma">Mã nộp báo cáo</label>
<input type="text" id="ma" name="ma" autocomplete="off" autocapitalize="characters"
 spellcheck="false" maxlength="20" placeholder="VD: K7MX-4PQA" required>
<button type="submit">Vào</button>
</form>
</div>
{% endblock %}"""

_UNIT = """{% extends "base" %}{% block main %}
<div class="card">
<h2>Gửi báo cáo</h2>
<p>Chọn tệp mẫu báo cáo đã điền (.xlsx, .xlsm, .xls hoặc .ods, tối đa {{ limit }}) rồi bấm
«Gửi báo cáo». Kết quả kiểm tra hiện ngay sau khi gửi.</p>
<form method="post" action="/gui" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label for="tep">Tệp báo cáo</label>
<input type="file" id="tep" name="tep"
 accept=".xlsx,.xlsm,.xls,.ods,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-excel,application/vnd.oasis.opendocument.spreadsheet"
 required>
<button type="submit" id="gui">Gửi báo cáo</button>
</form>
</div>
<div class="card">
<h2>Các lần gửi trong kỳ</h2>
{% if receipts %}
<div class="scroll"><table class="stack">
<tr><th>Thời điểm nhận</th><th>Kết quả</th><th>Lỗi</th><th>Cảnh báo</th><th></th></tr>
{% for r in receipts %}
<tr><td data-label="Thời điểm nhận">{{ r.received }}</td>
<td data-label="Kết quả">{{ r.state }}</td><td class="num" data-label="Lỗi">{{ r.errors }}</td>
<td class="num" data-label="Cảnh báo">{{ r.warnings }}</td>
<td><a href="/ket-qua/{{ r.id }}">Xem chi tiết</a></td></tr>
{% endfor %}
</table></div>
{% else %}<p class="muted">Chưa gửi tệp nào trong kỳ này.</p>{% endif %}
</div>
""" + _LOGOUT + """{% endblock %}"""

_RESULT = """{% extends "base" %}{% block main %}
<p class="state {{ tone }}" id="trang-thai">{{ state }}</p>
<div class="card">
<p>Tệp nhận lúc <strong>{{ received }}</strong> (giờ máy chủ của văn phòng).
{% if already %}Tệp này đã được gửi trước đó với cùng nội dung: sổ ghi nhận giữ thời điểm
nhận lần đầu.{% endif %}</p>
{% if tone == "bad" %}<p>Tệp <strong>chưa được nhận</strong> vào tổng hợp: hãy sửa các lỗi
dưới đây rồi gửi lại. Tệp đã gửi vẫn được văn phòng lưu lại.</p>{% endif %}
{% if marked %}<p><a class="button" href="/ban-sua/{{ id }}">Tải bản đánh dấu lỗi</a></p>
<p class="muted">Bản đánh dấu lỗi: các ô sai tô đỏ, cách sửa ghi trong chú thích của ô.</p>
{% endif %}
</div>
{% if findings %}
<div class="card">
<h2>Kết quả kiểm tra ({{ findings|length }} mục)</h2>
<div class="scroll"><table id="ket-qua" class="stack">
<tr><th>Mã · mức độ</th><th>Ô</th><th>Nội dung</th><th>Cần nhập</th></tr>
{% for f in findings %}
<tr><td data-label="Mã">{{ f.code }} · {{ f.severity }}</td>
<td data-label="Ô">{{ f.cell }}</td><td data-label="Nội dung">{{ f.message }}</td>
<td data-label="Cần nhập">{{ f.expected }}</td></tr>
{% endfor %}
</table></div>
</div>
{% endif %}
<p><a class="button" href="/">Gửi tệp khác</a></p>
{% endblock %}"""

_SECRETARIAT = """{% extends "base" %}{% block main %}
<div class="card">
<h2>Theo dõi nộp báo cáo</h2>
<p>{{ counts }}</p>
<p class="muted">Cập nhật lúc {{ now }}; trang tự làm mới sau {{ refresh }} giây.</p>
</div>
<div class="card scroll">
<table id="theo-doi" class="stack">
<tr><th>STT</th><th>Mã</th><th>Tên đơn vị</th><th>Tình trạng</th><th>Muộn (ngày)</th>
<th>Số tệp</th><th>Lần gửi cuối</th><th>Nguồn thời điểm</th><th>Ghi chú</th></tr>
{% for t in rows %}
<tr><td class="num" data-label="STT">{{ loop.index }}</td><td data-label="Mã">{{ t.code }}</td>
<td data-label="Tên đơn vị">{{ t.name }}</td><td data-label="Tình trạng">{{ t.status }}</td>
<td class="num" data-label="Muộn (ngày)">{{ t.late }}</td>
<td class="num" data-label="Số tệp">{{ t.files }}</td>
<td data-label="Lần gửi cuối">{{ t.last }}</td><td data-label="Nguồn thời điểm">{{ t.source }}</td>
<td data-label="Ghi chú">{{ t.note }}</td></tr>
{% endfor %}
</table>
</div>
""" + _LOGOUT + """{% endblock %}"""

_PROBLEM = """{% extends "base" %}{% block main %}
<p class="state bad">{{ message }}</p>
<p><a class="button" href="/">Về trang đầu</a></p>
{% endblock %}"""

_ENV = Environment(
    loader=DictLoader({"base": _BASE, "login": _LOGIN, "unit": _UNIT, "result": _RESULT,
                       "secretariat": _SECRETARIAT, "problem": _PROBLEM}),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def render(name: str, **context: Any) -> str:
    """The page ``name`` with ``context`` (every value escaped)."""
    return _ENV.get_template(name).render(style=_STYLE, **context)
